// Reads a JSON array of messages from stdin and prints one hex message hash per line,
// computed by js-waku's @waku/message-hash (an implementation independent of go-waku).
// Each message: {pubsubTopic, payload (hex), contentTopic, meta (hex, optional),
// timestamp (decimal string, nanoseconds)}.
import { messageHashStr } from "@waku/message-hash";

const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
let input = "";
for await (const chunk of process.stdin) input += chunk;
for (const m of JSON.parse(input)) {
  const msg = {
    payload: hex(m.payload),
    contentTopic: m.contentTopic,
    timestamp: BigInt(m.timestamp),
  };
  if (m.meta !== undefined) msg.meta = hex(m.meta);
  console.log(messageHashStr(m.pubsubTopic, msg));
}
