// The one parser of a tracker address as people type it (the terminal's --tracker, the
// extension's settings and prompts): HOST:PORT, HOST alone (the default port) or [IPv6]:PORT.
import { ProtocolError } from './errors.ts';
import { DEFAULT_TRACKER_PORT } from './tracker.ts';

const EXAMPLE = 'for example 192.168.1.20:12345, tracker.lan:12345 or [fe80::1]:12345';
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
// Hex groups and colons, an optional dotted IPv4 tail and an optional %zone (fe80::1%eth0).
const IPV6 = /^[0-9a-f:]*:[0-9a-f:]*(?:\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.-]+)?$/i;

/**
 * Reads a tracker address: `HOST:PORT`, `HOST` alone (DEFAULT_TRACKER_PORT), or `[IPv6]:PORT` /
 * `[IPv6]`. HOST is a host name, a dotted IPv4 address or a bracketed IPv6 address; PORT is
 * 1..65535 (port 0 means "any free port" to a listener, which a tracker's dialer cannot use).
 * Surrounding spaces are ignored. The returned host has no brackets.
 * @throws ProtocolError `request.invalid` whose message says what is wrong and gives an example.
 */
export function parseTrackerAddress(text: string): { host: string; port: number } {
  const raw = text.trim();
  const refuse = (why: string): never => {
    throw new ProtocolError('request.invalid', `"${text}" is not a tracker address: ${why}; use HOST:PORT, ${EXAMPLE}`);
  };
  if (raw === '') refuse('it is empty');
  let host: string;
  let portText: string | undefined;
  if (raw.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(raw);
    if (!m) refuse('an IPv6 address in brackets must be followed by nothing or :PORT');
    host = m![1];
    portText = m![2];
    if (!IPV6.test(host)) refuse(`${host === '' ? 'the brackets are empty' : `${host} is not an IPv6 address`}`);
  } else {
    const colons = raw.split(':').length - 1;
    if (colons > 1) refuse('an IPv6 address needs brackets, as in [::1]:12345');
    [host, portText] = colons === 1 ? (raw.split(':') as [string, string]) : [raw, undefined];
    if (host === '') refuse('the host is missing');
    if (IPV4.test(host)) {
      if (host.split('.').some((part) => Number(part) > 255)) refuse(`${host} is not an IPv4 address (each part is 0 to 255)`);
    } else if (/^[\d.]+$/.test(host)) {
      refuse(`${host} is not an IPv4 address (four numbers 0 to 255 joined by dots)`);
    } else if (!HOST_NAME.test(host)) {
      refuse(`${host} is not a host name (letters, digits, hyphens and dots)`);
    }
  }
  if (portText === undefined) return { host, port: DEFAULT_TRACKER_PORT };
  if (!/^\d{1,5}$/.test(portText)) refuse(portText === '' ? 'the port after ":" is missing' : `the port ${portText} is not a number from 1 to 65535`);
  const port = Number(portText);
  if (port === 0) refuse('port 0 means "any free port" to a listener; a tracker is dialed at the port it listens on, 1 to 65535');
  if (port > 65535) refuse(`the port ${portText} is not a number from 1 to 65535`);
  return { host, port };
}
