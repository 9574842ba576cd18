import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../core/topics.js';
import { newDeviceSecret } from '../../provisioning/device-secrets.js';
import { mosquittoAclFile } from '../../provisioning/mosquitto.js';
import { mosquittoPasswordFile } from '../../provisioning/mosquitto-passwd.js';
import { MosquittoBroker } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

// Issue 7, for customers running their own Mosquitto: everything the broker knows of our devices
// comes from our generators (the password file from mosquittoPasswordFile, not mosquitto_passwd;
// the ACL from mosquittoAclFile), and a real Mosquitto enforces it.
const passwords = { dashboard: newDeviceSecret(), 'gw-a': newDeviceSecret(), 'gw-b': newDeviceSecret() };
const entries = (usernames: (keyof typeof passwords)[]) => usernames.map((username) => ({ username, password: passwords[username] }));

describe('Mosquitto with our password file and ACL: device enrolment', () => {
  let broker: MosquittoBroker;
  const clients: MqttClient[] = [];

  async function connect(username: keyof typeof passwords, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(broker.url, { clientId: username, username, password: passwords[username], protocolVersion: 4, reconnectPeriod: 0, clean: true, ...extra });
    clients.push(client);
    return client;
  }

  async function dashboardWatcher(): Promise<{ topic: string; payload: string }[]> {
    const watcher = await connect('dashboard', { clientId: `watcher-${clients.length}` });
    const seen: { topic: string; payload: string }[] = [];
    watcher.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await watcher.subscribeAsync({ 'punchgate/v1/devices/#': { qos: 1 } });
    return seen;
  }

  beforeAll(async () => {
    broker = await MosquittoBroker.start({ acl: mosquittoAclFile({ dashboardUsername: 'dashboard' }), users: {}, passwordFile: mosquittoPasswordFile(entries(['dashboard', 'gw-a', 'gw-b'])) });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('lets an enrolled device in with its password, and its punch reaches the dashboard user', async () => {
    const seen = await dashboardWatcher();
    const a = await connect('gw-a');
    await a.publishAsync(deviceTopic('gw-a', 'punches'), 'punch-from-a', { qos: 1 });
    await waitFor('the punch at the dashboard', () => seen.length > 0);
    expect(seen).toEqual([{ topic: 'punchgate/v1/devices/gw-a/punches', payload: 'punch-from-a' }]);
  });

  it('refuses a wrong password, another device\'s password and an unknown user with CONNACK "not authorised"', async () => {
    for (const [username, password] of [
      ['gw-a', 'not-the-password'],
      ['gw-a', passwords['gw-b']],
      ['gw-c', passwords['gw-a']],
    ] as const) {
      // MQTT 3.1.1 CONNACK 5 ("not authorized"); MQTT 5: Mosquitto 2.0 answers reason 0x87 "Not
      // authorized" too, not 0x86 "Bad User Name or Password".
      await expect(mqtt.connectAsync(broker.url, { clientId: username, username, password, protocolVersion: 4, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 5 });
      await expect(mqtt.connectAsync(broker.url, { clientId: username, username, password, protocolVersion: 5, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 0x87 });
    }
  });

  it("keeps gw-a off gw-b's topics: its publishes there are dropped, and it never receives gw-b's config", async () => {
    const seen = await dashboardWatcher();
    const a = await connect('gw-a');
    const a5 = await connect('gw-a', { clientId: 'gw-a-v5', protocolVersion: 5 });
    const aGot: string[] = [];
    a.on('message', (topic, payload) => aGot.push(`${topic} ${payload.toString()}`));
    a5.on('message', (topic, payload) => aGot.push(`${topic} ${payload.toString()}`));

    // What Mosquitto 2.0 really does with a subscription the ACL does not allow: it grants it
    // (SUBACK with the asked QoS, not 0x80) and then delivers nothing on it.
    const granted = await a.subscribeAsync({ [deviceTopic('gw-b', 'config')]: { qos: 1 }, [deviceTopic('gw-a', 'config')]: { qos: 1 } });
    expect(granted.map((grant) => [grant.topic, grant.qos])).toEqual([
      [deviceTopic('gw-b', 'config'), 1],
      [deviceTopic('gw-a', 'config'), 1],
    ]);
    await a5.subscribeAsync({ [deviceTopic('gw-b', 'config')]: { qos: 1 } });

    // MQTT 3.1.1 has no way to say "refused": Mosquitto PUBACKs the forged message, drops it, and
    // keeps the connection. MQTT 5 gets PUBACK reason 0x87 "Not authorized", which mqtt.js rejects.
    await a.publishAsync(deviceTopic('gw-b', 'punches'), 'forged-punch', { qos: 1 });
    await a.publishAsync(deviceTopic('gw-b', 'status'), 'forged-status', { qos: 0 });
    await expect(a5.publishAsync(deviceTopic('gw-b', 'punches'), 'forged-punch-v5', { qos: 1 })).rejects.toThrow(/Not authorized/i);
    expect(a.connected && a5.connected).toBe(true);

    // The dashboard writes gw-b's config and then gw-a's; one connection delivers in order, so once
    // gw-a has its own config it would have had gw-b's. Likewise gw-a's own punch marks the end.
    const watcher = clients[0]!;
    await watcher.publishAsync(deviceTopic('gw-b', 'config'), 'config-for-b', { qos: 1 });
    await watcher.publishAsync(deviceTopic('gw-a', 'config'), 'config-for-a', { qos: 1 });
    await a.publishAsync(deviceTopic('gw-a', 'punches'), 'own-punch', { qos: 1 });
    await waitFor("gw-a's own config", () => aGot.length > 0);
    await waitFor("gw-a's own punch at the dashboard", () => seen.some((message) => message.payload === 'own-punch'));
    await sleep(100);
    expect(aGot).toEqual([`${deviceTopic('gw-a', 'config')} config-for-a`]);
    expect(seen.filter((message) => message.topic !== deviceTopic('gw-a', 'config') && message.topic !== deviceTopic('gw-b', 'config'))).toEqual([{ topic: deviceTopic('gw-a', 'punches'), payload: 'own-punch' }]);
    expect(await broker.log()).toMatch(/Denied PUBLISH from gw-a .*punchgate\/v1\/devices\/gw-b\/punches/);
  });

  it('refuses a disabled device after the password file is rewritten without it and Mosquitto gets SIGHUP', async () => {
    const a = await connect('gw-a');
    const b = await connect('gw-b');
    let aClosed = false;
    a.on('close', () => (aClosed = true));
    const logBefore = (await broker.log()).length;

    await broker.reloadPasswordFile(mosquittoPasswordFile(entries(['dashboard', 'gw-b'])));
    await waitFor('Mosquitto to reload', async () => (await broker.log()).slice(logBefore).includes('Reloading config'));

    // What Mosquitto 2.0.11 really does to gw-a's connection that was open before the reload: it
    // re-checks every connected client against the new password file and closes gw-a's at once
    // (log: "Client gw-a disconnected."), so disabling a device takes effect without a restart.
    // gw-b, still in the file, keeps its connection.
    await waitFor("gw-a's open connection to be closed by Mosquitto", () => aClosed);
    expect(a.connected).toBe(false);
    expect((await broker.log()).slice(logBefore)).toMatch(/Reloading config\.[\s\S]*Client gw-a disconnected\./);

    // A new connection of gw-a, with its once-valid password, is refused: CONNACK 5 "not authorized".
    await expect(mqtt.connectAsync(broker.url, { clientId: 'gw-a', username: 'gw-a', password: passwords['gw-a'], protocolVersion: 4, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 5 });
    // gw-b, still enrolled, is unaffected, and may connect anew.
    expect(b.connected).toBe(true);
    await connect('gw-b', { clientId: 'gw-b-again' });
    await b.publishAsync(deviceTopic('gw-b', 'punches'), 'still-here', { qos: 1 });
  });
});
