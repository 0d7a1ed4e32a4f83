// protocol/address.ts: the one tracker-address parser (the terminal's --tracker, the extension).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrackerAddress } from '../../protocol/address.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { DEFAULT_TRACKER_PORT } from '../../protocol/tracker.ts';

/** Asserts a refusal coded request.invalid whose message matches `why` and gives an example. */
function refuses(text: string, why: RegExp): void {
  assert.throws(() => parseTrackerAddress(text), (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `${text}: ${String(e)}`);
    assert.equal(e.code, 'request.invalid');
    assert.match(e.message, why);
    assert.match(e.message, /for example 192\.168\.1\.20:12345/);
    return true;
  });
}

describe('parseTrackerAddress', () => {
  test('host names, IPv4 and bracketed IPv6, with a port or the default', () => {
    assert.deepEqual(parseTrackerAddress('192.168.1.20:12345'), { host: '192.168.1.20', port: 12345 });
    assert.deepEqual(parseTrackerAddress('tracker.lan:1'), { host: 'tracker.lan', port: 1 });
    assert.deepEqual(parseTrackerAddress('localhost'), { host: 'localhost', port: DEFAULT_TRACKER_PORT });
    assert.deepEqual(parseTrackerAddress('  my-host:65535 '), { host: 'my-host', port: 65535 });
    assert.deepEqual(parseTrackerAddress('[::1]:4000'), { host: '::1', port: 4000 });
    assert.deepEqual(parseTrackerAddress('[fe80::1%eth0]'), { host: 'fe80::1%eth0', port: DEFAULT_TRACKER_PORT });
    assert.deepEqual(parseTrackerAddress('[::ffff:10.0.0.1]:80'), { host: '::ffff:10.0.0.1', port: 80 });
  });

  test('port 0 is refused with the reason', () => {
    refuses('127.0.0.1:0', /port 0 means "any free port"/);
    refuses('[::1]:0', /port 0/);
  });

  test('ports outside 1..65535 or not numbers are refused', () => {
    refuses('host:65536', /65536 is not a number from 1 to 65535/);
    refuses('host:99999', /1 to 65535/);
    refuses('host:-1', /1 to 65535/);
    refuses('host:12a', /1 to 65535/);
    refuses('host:', /port after ":" is missing/);
  });

  test('malformed hosts say what is wrong', () => {
    refuses('', /empty/);
    refuses('   ', /empty/);
    refuses(':12345', /host is missing/);
    refuses('::1', /IPv6 address needs brackets/);
    refuses('fe80::1:12345', /needs brackets/);
    refuses('[]:12345', /brackets are empty/);
    refuses('[not-ip]:1', /not-ip is not an IPv6 address/);
    refuses('[::1]12345', /followed by nothing or :PORT/);
    refuses('256.1.1.1:80', /not an IPv4 address \(each part is 0 to 255\)/);
    refuses('10.0.0:80', /not an IPv4 address/);
    refuses('bad_host:80', /bad_host is not a host name/);
    refuses('-lead:80', /not a host name/);
    refuses('a b:80', /not a host name/);
  });
});
