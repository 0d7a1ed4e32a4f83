// What peer/account.ts refuses besides short passwords: NIST SP 800-63B-4 §3.1.1.2 asks verifiers
// to compare new passwords against "commonly-used, expected, or compromised" values, including
// dictionary words, repetitive or sequential characters, and context-specific words (the user
// name, the service name). Anything under 15 characters is refused for length first, so these
// lists only need the longer values people actually pick. Entries are written as a person types
// them; the check normalizes both sides (lowercase, letters and digits only).

/** Whole passwords and phrases from breach corpora and quotations, each refused as it stands. */
export const COMMON_PASSWORDS: readonly string[] = [
  'passwordpassword',
  'password123456789',
  'password1234567890',
  'mypasswordispassword',
  'thisismypassword',
  'thisisapassword',
  'thisisnotapassword',
  'iforgotmypassword',
  'changemechangeme',
  'letmeinletmein',
  'administrator123',
  'administrator1234',
  'iloveyouiloveyou',
  'iloveyouforever',
  'iloveyousomuch',
  'iloveyoutoo123',
  'qwertyuiopasdfghjkl',
  'qwertyuiopasdfghjklzxcvbnm',
  'qazwsxedcrfvtgbyhn',
  '1q2w3e4r5t6y7u8i9o0p',
  '1qaz2wsx3edc4rfv',
  'zaq12wsxcde34rfv',
  'correct horse battery staple',
  'the quick brown fox jumps over the lazy dog',
  'lorem ipsum dolor sit amet',
  'may the force be with you',
  'to be or not to be',
  'to be or not to be that is the question',
  'i am the walrus',
  'never gonna give you up',
  'hello world hello world',
  'open sesame open sesame',
  'supercalifragilisticexpialidocious',
  'antidisestablishmentarianism',
  'one two three four five',
  'abcdefghijklmnopqrstuvwxyz',
  'peer to peer chat',
  'p2p chat password',
];

/**
 * Weak building blocks: a password made of these, sequences, repeats and at most a few other
 * characters is refused (e.g. "Password123456789!", "qwerty qwerty 2024", "dragon dragon dragon").
 */
export const COMMON_WORDS: readonly string[] = [
  'password', 'passwd', 'pass', 'secret', 'letmein', 'welcome', 'changeme', 'default', 'login',
  'admin', 'administrator', 'root', 'user', 'guest', 'master', 'access', 'test', 'temp',
  'qwerty', 'azerty', 'qwertz', 'iloveyou', 'love', 'hello', 'monkey', 'dragon', 'shadow',
  'sunshine', 'princess', 'football', 'baseball', 'soccer', 'hockey', 'superman', 'batman',
  'starwars', 'pokemon', 'trustno1', 'whatever', 'freedom', 'computer', 'internet', 'michael',
  'jordan', 'charlie', 'summer', 'winter', 'spring', 'autumn', 'monday', 'friday', 'january',
  'december', 'chat', 'team', 'p2p', 'peer', 'vscode', 'code', 'office', 'company', 'work',
];

/**
 * Keyboard rows and columns, the alphabet and the digits (twice, so 890123 wraps): any run of
 * three or more of these, forwards or backwards, counts as a sequence.
 */
export const SEQUENCES: readonly string[] = [
  'abcdefghijklmnopqrstuvwxyz',
  '01234567890123456789',
  'qwertyuiop', 'asdfghjkl', 'zxcvbnm',
  'azertyuiop', 'qsdfghjklm', 'wxcvbn',
  'qwertzuiop', 'yxcvbnm',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
  'qazwsxedcrfvtgbyhnujmikolp',
];

/** Look-alike substitutions people use to "strengthen" a common word (p@ssw0rd). */
/** A Map: it is looked up with the characters of a password, never with a plain object's keys. */
export const LOOKALIKES: ReadonlyMap<string, string> = new Map(Object.entries({
  '0': 'o', '1': 'il', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
  '@': 'a', '$': 's', '!': 'il', '+': 't',
}));
