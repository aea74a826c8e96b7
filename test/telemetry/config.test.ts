import t from 'tap';
import { isCatalogError } from '../../src/errors.ts';
import { parseSinkUrl, readTelemetryConfig, hasSink, TelemetryEnv } from '../../src/telemetry/config.ts';

t.test('sink URLs: https, or http as written; host, port and path only', async (t) => {
  const accepted = [
    'https://pushgateway.monitoring.svc:9091',
    'http://pushgateway.monitoring.svc:9091',
    'http://127.0.0.1:9091/',
    'https://collector.example.com/ingest/tekton',
    'HTTPS://Collector.Example.com/x',
    'http://[::1]:8080/events',
    'http://broker-ingress.knative-eventing.svc.cluster.local/team-a/default',
  ];
  for (const url of accepted) t.ok(parseSinkUrl(url, 'pushgateway-url') instanceof URL, url);
  t.equal(parseSinkUrl('', 'pushgateway-url'), undefined, 'empty: not configured');
});

t.test('sink URLs that carry credentials, other schemes or hidden characters are refused, naming the param', async (t) => {
  const refused: [string, RegExp][] = [
    ['https://user:pass@collector.example.com', /user info/],
    ['https://token@collector.example.com', /user info/],
    ['https://collector.example.com/?token=abc', /query or fragment/],
    ['https://collector.example.com/#x', /query or fragment/],
    ['ftp://collector.example.com', /must start with https:\/\//],
    ['collector.example.com:9091', /must start with https:\/\//],
    ['localhost:9091', /must start with https:\/\//],
    ['http:collector.example.com', /must start with https:\/\//],
    ['https:///collector', /must start with https:\/\//],
    ['file:///etc/passwd', /must start with https:\/\//],
    ['javascript:alert(1)', /must start with https:\/\//],
    ['https://collector.example.com/a b', /printable ASCII/],
    ['https://collector\n.example.com', /printable ASCII/],
    ['https://collector\t.example.com', /printable ASCII/],
    ['https://collector.example.com/\u202e', /printable ASCII/],
    ['https://exa\u0000mple.com', /printable ASCII/],
    ['https://[::1', /not a valid URL/],
    [`https://example.com/${'a'.repeat(2100)}`, /longer than 2048/],
  ];
  for (const [url, rule] of refused) {
    try {
      parseSinkUrl(url, 'cloudevents-sink');
      t.fail(`accepted ${JSON.stringify(url.slice(0, 80))}`);
    } catch (error) {
      const name = JSON.stringify(url.slice(0, 80));
      t.ok(isCatalogError(error) && error.code === 'CONFIG_TELEMETRY', `${name}: a config error`);
      const message = (error as Error).message;
      t.match(message, /^param cloudevents-sink /, 'names the Task param');
      t.match(message, rule, `${name}: ${message.slice(0, 200)}`);
      // quoteUntrusted's "…" marks a cut; every other character is printable ASCII.
      t.notOk(/[\u0000-\u001f\u007f-\u2025\u2027-\uffff]/.test(message), 'the message shows the value escaped');
    }
  }
});

t.test('telemetry-fail-closed is "true", "false" or empty; anything else is refused', async (t) => {
  t.equal(readTelemetryConfig({}).failClosed, false);
  t.equal(readTelemetryConfig({ [TelemetryEnv.failClosed]: 'false' }).failClosed, false);
  t.equal(readTelemetryConfig({ [TelemetryEnv.failClosed]: 'true' }).failClosed, true);
  for (const value of ['TRUE', 'yes', '1', 'true ']) {
    t.throws(() => readTelemetryConfig({ [TelemetryEnv.failClosed]: value }), /telemetry-fail-closed must be "true" or "false"/, value);
  }
});

t.test('the run context comes from Tekton; outside it a random uid keeps runs apart', async (t) => {
  const config = readTelemetryConfig({
    [TelemetryEnv.pushgatewayUrl]: 'http://127.0.0.1:9091',
    [TelemetryEnv.taskRunName]: 'build-x7k2p-validate',
    [TelemetryEnv.taskRunNamespace]: 'team-a',
    [TelemetryEnv.taskRunUid]: '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f',
    [TelemetryEnv.retryCount]: '2',
  });
  t.ok(hasSink(config));
  t.same(config.run, { taskRunName: 'build-x7k2p-validate', namespace: 'team-a', uid: '0b7f9c2e-1d2a-4c3b-9e8f-7a6b5c4d3e2f', retry: '2' });
  const a = readTelemetryConfig({ [TelemetryEnv.cloudEventsSink]: 'http://127.0.0.1:1/' }).run;
  const b = readTelemetryConfig({ [TelemetryEnv.cloudEventsSink]: 'http://127.0.0.1:1/' }).run;
  t.match(a.uid, /^local-[0-9a-f-]{36}$/);
  t.not(a.uid, b.uid);
  const odd = readTelemetryConfig({ [TelemetryEnv.cloudEventsSink]: 'http://127.0.0.1:1/', [TelemetryEnv.taskRunName]: 'Bad/Name', [TelemetryEnv.retryCount]: '-1' }).run;
  t.equal(odd.taskRunName, '', 'a name that is not a DNS name is dropped');
  t.equal(odd.retry, '0');
  t.notOk(hasSink(readTelemetryConfig({})), 'no URL, no sink');
  t.equal(readTelemetryConfig({}).run.uid, '', 'no sink: no random uid is made');
});

t.test('the Task params\' rule (what lint and validate-params check) agrees with the step on typical URLs', async (t) => {
  const { compileRuleSet } = await import('../../src/params/compile.ts');
  const { validateParams } = await import('../../src/params/validate.ts');
  const { SINK_URL_RULE } = await import('../../src/telemetry/task-params.ts');
  const compiled = await compileRuleSet({ url: SINK_URL_RULE });
  const accepted = ['', 'https://pushgateway.monitoring.svc:9091', 'http://127.0.0.1:9091/', 'http://[::1]:8080/events', 'https://collector.example.com/ingest/tekton'];
  for (const url of accepted) {
    t.ok(validateParams({ url }, compiled).ok, `rule accepts ${JSON.stringify(url)}`);
    if (url !== '') t.ok(parseSinkUrl(url, 'pushgateway-url'), `step accepts ${url}`);
  }
  for (const url of ['https://user:pass@collector.example.com', 'https://collector.example.com/?token=abc', 'collector.example.com:9091', 'ftp://x', 'https://x/#y', 'https://x/a b']) {
    t.notOk(validateParams({ url }, compiled).ok, `rule refuses ${JSON.stringify(url)}`);
    t.throws(() => parseSinkUrl(url, 'pushgateway-url'), `step refuses ${JSON.stringify(url)}`);
  }
});

t.test('a refused URL is shown without its user info or query: they may hold a credential', async (t) => {
  const cases: [string, string][] = [
    ['https://bot:s3cr3t-token@collector.example.com/x', '"https://***@collector.example.com/x"'],
    ['https://s3cr3t-token@collector.example.com', '"https://***@collector.example.com"'],
    ['https://a:b@c@collector.example.com', '"https://***@collector.example.com"'],
    ['https://collector.example.com/ingest?token=s3cr3t-token', '"https://collector.example.com/ingest?***"'],
    ['https://collector.example.com/#s3cr3t-token', '"https://collector.example.com/#***"'],
  ];
  for (const [url, shown] of cases) {
    try {
      parseSinkUrl(url, 'cloudevents-sink');
      t.fail(`accepted ${url}`);
    } catch (error) {
      const message = (error as Error).message;
      t.ok(message.startsWith(`param cloudevents-sink ${shown} `), message);
      t.notOk(/s3cr3t|bot:|a:b/.test(message), 'no credential in the message');
    }
  }
});

