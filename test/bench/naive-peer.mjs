// The naive peer of `npm run bench` (store-and-forward): an mqtt.js client with the default
// in-memory store, as a process of its own so that it can be restarted.
//   node naive-peer.mjs URL USERNAME PASSWORD CLIENT_ID TOPIC COUNT
// COUNT > 0: publishes COUNT QoS 1 messages while not connected (manualConnect), prints "queued",
// then connects. COUNT = 0: only connects (the restarted client). Prints "connected" on connect.
import mqtt from 'mqtt';

const [url, username, password, clientId, topic, countText] = process.argv.slice(2);
const count = Number(countText);
const client = mqtt.connect(url, { username, password, clientId, clean: false, manualConnect: true, reconnectPeriod: 200 });
client.on('connect', () => process.stdout.write('connected\n'));
client.on('error', () => undefined);
for (let index = 0; index < count; index += 1) client.publish(topic, JSON.stringify({ n: index, pad: 'x'.repeat(300) }), { qos: 1 });
process.stdout.write(`queued ${count}\n`);
process.stdin.on('data', (chunk) => {
  if (chunk.toString().includes('connect')) client.connect();
});
process.stdin.resume();
