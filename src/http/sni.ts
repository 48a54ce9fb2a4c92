/**
 * The server name a TLS ClientHello asks for, read from the first bytes a
 * client sends (RFC 8446 4.1.2, RFC 6066 3), or '' when there is none or
 * the bytes are not a ClientHello. Only what arrived is read: a hello split
 * over several segments before its SNI extension reads as no name.
 */
export function clientHelloServerName(data: Buffer): string {
  const HANDSHAKE = 0x16;
  const CLIENT_HELLO = 0x01;
  if (data.length < 43 || data[0] !== HANDSHAKE || data[5] !== CLIENT_HELLO) return '';
  // record header 5, handshake header 4, version 2, random 32
  let at = 43;
  const skip = (lengthBytes: number): boolean => {
    if (at + lengthBytes > data.length) return false;
    at += lengthBytes + data.readUIntBE(at, lengthBytes);
    return at <= data.length;
  };
  // session id, cipher suites, compression methods
  if (!skip(1) || !skip(2) || !skip(1) || at + 2 > data.length) return '';
  const end = Math.min(data.length, at + 2 + data.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = data.readUInt16BE(at);
    const len = data.readUInt16BE(at + 2);
    at += 4;
    if (type === 0) return firstHostName(data.subarray(at, Math.min(at + len, end)));
    at += len;
  }
  return '';
}

/** The first host_name entry of a server_name extension body. */
function firstHostName(ext: Buffer): string {
  let at = 2;
  while (at + 3 <= ext.length) {
    const type = ext[at];
    const len = ext.readUInt16BE(at + 1);
    at += 3;
    if (type === 0) return at + len <= ext.length ? ext.toString('latin1', at, at + len) : '';
    at += len;
  }
  return '';
}
