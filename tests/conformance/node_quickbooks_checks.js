// node-quickbooks (unpatched) against the sandbox. Input: one JSON argument; output: one JSON line
// {check: {ok: bool, detail: string}}. Run by test_node_quickbooks.py.
'use strict';
const QuickBooks = require('node-quickbooks');
const cfg = JSON.parse(process.argv[2]);

// Where "Intuit" is: node-quickbooks' own settings for its endpoints.
QuickBooks.V3_ENDPOINT_BASE_URL = cfg.base + '/v3/company/';
QuickBooks.TOKEN_URL = cfg.base + '/oauth2/v1/tokens/bearer';
QuickBooks.REVOKE_URL = cfg.base + '/v2/oauth2/tokens/revoke';

const qbo = new QuickBooks(cfg.clientId, cfg.clientSecret, cfg.accessToken, false, cfg.realm, true, false, 75,
                           '2.0', cfg.refreshToken);
const call = (fn, ...args) => new Promise((resolve, reject) =>
  fn.call(qbo, ...args, (err, data) => (err ? reject(err) : resolve(data))));
const faultOf = (e) => (e && e.response ? e.response.data : e);
const errorOf = (e) => { const f = faultOf(e); return f && f.Fault ? { ...f.Fault.Error[0], type: f.Fault.type } : {}; };
const ta = (extra) => ({ NameOf: 'Employee', EmployeeRef: { value: '1' }, CustomerRef: { value: '1' },
  ItemRef: { value: '1' }, TxnDate: '2026-03-02', Hours: 8, Minutes: 0, BillableStatus: 'Billable',
  HourlyRate: 65, Description: 'node conformance', ...extra });

function assert(cond, msg) { if (!cond) throw new Error(msg); }

const checks = {
  async oauth_refresh() {
    const old = qbo.refreshToken;
    const answer = await call(qbo.refreshAccessToken);
    assert(answer.access_token && qbo.token === answer.access_token && qbo.refreshToken !== old, 'no new tokens');
    qbo.refreshToken = old;
    let refused = null;
    try { await call(qbo.refreshAccessToken); } catch (e) { refused = e.response ? e.response.status : e; }
    qbo.refreshToken = answer.refresh_token;
    assert(refused === 400, `superseded refresh token answered ${refused}`);
  },
  async query_and_paging() {
    const all = await call(qbo.findEmployees, [{ field: 'Active', value: [true, false], operator: 'IN' },
      { field: 'fetchAll', value: true }, { field: 'limit', value: 10 }, { field: 'asc', value: 'Id' }]);
    const ids = all.QueryResponse.Employee.map((e) => e.Id);
    assert(ids.length === 25 && new Set(ids).size === 25, `paged ${ids.length} employees`);
    const count = await call(qbo.findEmployees, { count: true, Active: [true, false] });
    assert(count.QueryResponse.totalCount === 25, `count ${JSON.stringify(count.QueryResponse)}`);
    const cool = await call(qbo.findCustomers, { DisplayName: 'Cool Cars' });
    assert(cool.QueryResponse.Customer[0].DisplayName === 'Cool Cars', 'filter by DisplayName');
  },
  async create_read_update_stale_delete() {
    const made = await call(qbo.createTimeActivity, ta());
    assert(made.Id && made.SyncToken === '0', 'create');
    const got = await call(qbo.getTimeActivity, made.Id);
    assert(got.Description === 'node conformance', 'read');
    const upd = await call(qbo.updateTimeActivity, { Id: made.Id, SyncToken: '0', Description: 'updated' });
    assert(upd.SyncToken === '1' && upd.Description === 'updated' && upd.Hours === 8, 'sparse update');
    let stale = {};
    try { await call(qbo.updateTimeActivity, { Id: made.Id, SyncToken: '0', Description: 'late' }); }
    catch (e) { stale = errorOf(e); }
    assert(stale.code === '5010' && stale.type === 'ValidationFault', `stale: ${JSON.stringify(stale)}`);
    const del = await call(qbo.deleteTimeActivity, made.Id);
    assert(del.TimeActivity.status === 'Deleted', `delete: ${JSON.stringify(del)}`);
    let gone = {};
    try { await call(qbo.getTimeActivity, made.Id); } catch (e) { gone = errorOf(e); }
    assert(gone.code === '610', `read deleted: ${JSON.stringify(gone)}`);
  },
  async requestid_replay() {
    const first = await call(qbo.createTimeActivity, ta({ requestId: 'node-replay-1' }));
    const again = await call(qbo.createTimeActivity, ta({ requestId: 'node-replay-1', Hours: 3 }));
    assert(again.Id === first.Id && again.Hours === 8, 'replayed answer differs');
  },
  async batch_of_thirty() {
    const items = Array.from({ length: 30 }, (_, i) => ({ bId: `b${i}`, operation: 'create',
      TimeActivity: ta({ TxnDate: `2026-04-${String(i + 1).padStart(2, '0')}` }) }));
    const out = await call(qbo.batch, items);
    const ok = out.BatchItemResponse.filter((r) => r.TimeActivity && r.TimeActivity.Id);
    assert(ok.length === 30, `batch: ${ok.length} of 30`);
    let tooMany = {};
    try { await call(qbo.batch, [...items, { ...items[0], bId: 'b30' }]); } catch (e) { tooMany = errorOf(e); }
    assert(tooMany.code === '1040', `31 items: ${JSON.stringify(tooMany)}`);
  },
  async change_data_capture() {
    const since = new Date(Date.now() - 5 * 60 * 1000).toISOString().replace(/\.\d+Z$/, '+00:00');
    const made = await call(qbo.createEmployee, { GivenName: 'Node', FamilyName: 'Conformance' });
    const cdc = await call(qbo.changeDataCapture, ['Employee'], since);
    const ids = (cdc.CDCResponse[0].QueryResponse[0].Employee || []).map((e) => e.Id);
    assert(ids.includes(made.Id), `cdc ${JSON.stringify(ids)}`);
  },
  async fault_shapes() {
    let bad = {};
    try { await call(qbo.findEmployees, { PrimaryEmailAddr: 'x@example.com' }); } catch (e) { bad = errorOf(e); }
    assert(bad.code === '4001' && bad.Message === 'Invalid query' && /not queryable/.test(bad.Detail),
      `query fault: ${JSON.stringify(bad)}`);
    let missing = {};
    try { await call(qbo.createTimeActivity, ta({ EmployeeRef: undefined })); } catch (e) { missing = errorOf(e); }
    assert(missing.code === '2020' && missing.element === 'EmployeeRef', `required: ${JSON.stringify(missing)}`);
  },
  async revoke() {
    const res = await new Promise((resolve) => qbo.revokeAccess(false, (err, r) => resolve(err ? err.response : r)));
    assert(res && res.status === 200, `revoke answered ${res && res.status}`);
    qbo.token = cfg.accessToken;
    qbo.realmId = cfg.realm;
    let status = 0;
    try { await call(qbo.getCompanyInfo, cfg.realm); } catch (e) { status = e.response ? e.response.status : -1; }
    assert(status === 401, `after revoke the API answered ${status}`);
  },
};

(async () => {
  const results = {};
  for (const [name, fn] of Object.entries(checks)) {
    try { await fn(); results[name] = { ok: true, detail: '' }; }
    catch (e) {
      const body = e && e.response ? ` ${e.config.url} -> ${JSON.stringify(e.response.data)}` : '';
      results[name] = { ok: false, detail: String(e && e.stack ? e.stack : JSON.stringify(faultOf(e))) + body };
    }
  }
  process.stdout.write(JSON.stringify(results) + '\n');
})();
