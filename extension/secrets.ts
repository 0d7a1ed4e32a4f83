// What VS Code keeps in SecretStorage (the OS keychain): the session of the signed-in account
// (resume token and private keys, so VS Code reopens signed in) and the key that seals the
// engine's state and the chat history on disk. Never the password: it is not kept anywhere.

import type * as vscode from 'vscode';
import type { AccountStore, SavedAccount } from '../peer/data-folder.ts';
import { randomBytes } from '../protocol/crypto.ts';

const ACCOUNT = 'p2pChat.account';
const AT_REST_KEY = 'p2pChat.atRestKey';

export function secretAccountStore(secrets: vscode.SecretStorage): AccountStore {
  return {
    async load(user) {
      const raw = await secrets.get(ACCOUNT);
      if (!raw) return undefined;
      const account = JSON.parse(raw) as SavedAccount;
      return !user || account.user === user ? account : undefined;
    },
    async save(account) {
      await secrets.store(ACCOUNT, JSON.stringify(account));
    },
    async forget() {
      await secrets.delete(ACCOUNT);
    },
  };
}

/** The 32-byte key sealing data at rest; made on first use. */
export async function atRestKey(secrets: vscode.SecretStorage): Promise<Buffer> {
  const stored = await secrets.get(AT_REST_KEY);
  if (stored) return Buffer.from(stored, 'base64');
  const key = randomBytes(32);
  await secrets.store(AT_REST_KEY, key.toString('base64'));
  return key;
}
