// One timecard (#/timecard?id=<timecard id>): how it stands now in one sentence, what happens next and when,
// the actions that fit its state (retry now when a retry is allowed, open in QuickBooks, export the CSV of its
// day, fix the mapping, …), and its sync story newest first. Ids, request ids and QuickBooks' answers are
// behind each story line's "Details". Without an id (#/timecards) the page finds timecards by worker, project,
// dates and state (GET timecards). Every place the console names a timecard links here (names.js).

import { download, get, post } from "../api.js";
import { busy, dateTime, errorBox, feedback, h, hourMinute, message, needToken, panel, pretty, replace, table,
  technical } from "../dom.js";
import { waitLines } from "./dashboard.js";

const STATE_WORDS = { in_quickbooks: "In QuickBooks", removed: "Not in QuickBooks", sending: "Sending",
  waiting: "Waiting", needs_you: "Needs you", not_sent: "Not sent" };
const STATE_PILL = { in_quickbooks: "ok", removed: "ok", sending: "info", waiting: "info", needs_you: "error",
  not_sent: "warn" };
const PAGE = 25;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i;

// Field names of a version's changes, in words; a value that is an id reads "changed" (the id is in Details).
const FIELD_WORDS = { clock_in: "Clock in", clock_out: "Clock out", break_minutes: "Break (min)",
  total_hours: "Hours", billable: "Billable", notes: "Notes", status: "Status", worker_id: "Worker",
  project_id: "Project", cost_code_id: "Cost code", version: "Version" };

function valueWords(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (typeof v === "string" && UUID.test(v)) return "another one";
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) return dateTime(v);
  return String(v);
}

function changeWords(c) {
  return `${FIELD_WORDS[c.field] || c.field.replace(/_/g, " ")}: ${valueWords(c.from)} → ${valueWords(c.to)}`;
}

/** What happens next, from the state and its time. */
function nextWords(sync) {
  if (sync.state === "in_quickbooks" || sync.state === "removed") return "Nothing: it is as CrewFlow wants it.";
  if (sync.state === "needs_you" || sync.state === "not_sent") return "Nothing, until someone acts (below).";
  if (sync.until) return `It goes by itself by ${hourMinute(sync.until)} (${dateTime(sync.until)}).`;
  return "It goes by itself as soon as its turn comes.";
}

function storyItem(e) {
  return h("li", { class: `story-${e.kind}`, dataset: { kind: e.kind, at: e.at } },
    h("span", { class: "when" }, dateTime(e.at)), " ", h("span", { class: "story-summary" }, e.summary),
    (e.changes || []).length ? h("ul", { class: "changes" }, e.changes.map((c) => h("li", {}, changeWords(c)))) : null,
    h("details", { class: "raw story-details" }, h("summary", {}, "Details"),
      h("dl", { class: "facts" },
        h("dt", {}, "What"), h("dd", {}, `${e.kind} · ${e.code}`),
        e.requestId ? [h("dt", {}, "Request id"), h("dd", {}, e.requestId)] : null,
        e.jobId ? [h("dt", {}, "Job"), h("dd", {}, e.jobId)] : null,
        e.realmId ? [h("dt", {}, "QuickBooks company"), h("dd", {}, e.realmId)] : null),
      e.facts && Object.keys(e.facts).length ? pretty(e.facts) : null,
      (e.changes || []).length ? pretty(e.changes) : null));
}

function actionsBlock(data, state, companyId, out, reload) {
  const sync = data.sync || {};
  const actions = new Set(sync.actions || []);
  const day = data.timecard ? data.timecard.date : null;
  const buttons = [];
  if (actions.has("retry_now")) {
    buttons.push(h("button", {
      class: "primary", id: "tc-retry",
      onclick: async (ev) => {
        try {
          const res = await busy(ev.currentTarget, () => post("sync-now", { companyId, timecardIds: [data.timecardId] }));
          const waits = res.waiting || [];
          feedback(out, message(waits.length ? "info" : "ok", waits.length ? "Queued again, but it cannot go now:"
            : "Queued again: it is sent within a few seconds. This page shows the outcome.",
          waits.length ? waitLines(waits) : null));
          reload();
        } catch (err) {
          feedback(out, errorBox(err));
        }
      },
    }, "Retry now"));
  }
  if (state && state.qboUrl) {
    buttons.push(h("a", { class: "button", id: "tc-open-qbo", href: state.qboUrl, target: "_blank", rel: "noopener" },
      "Open in QuickBooks"));
  }
  if (actions.has("export_csv") && day) {
    buttons.push(h("button", {
      id: "tc-export",
      onclick: async (ev) => {
        try {
          const file = await busy(ev.currentTarget, () => download("export-csv", { companyId, startDate: day, endDate: day },
            "unsynced-timecards.csv"));
          feedback(out, message("ok", `Downloaded ${file.name} (the ${day} timecards not in QuickBooks).`));
        } catch (err) {
          feedback(out, errorBox(err));
        }
      },
    }, `Export ${day} as CSV`));
  }
  if (actions.has("fix_mapping")) buttons.push(h("a", { class: "button", id: "tc-fix-mapping", href: "#/mapping" }, "Fix the mapping"));
  if (actions.has("reconnect")) buttons.push(h("a", { class: "button", id: "tc-reconnect", href: "#/connect" }, "Reconnect QuickBooks"));
  if (actions.has("turn_on_live_sync")) buttons.push(h("a", { class: "button", id: "tc-live", href: "#/test" }, "Turn on live sync"));
  if (actions.has("reset_breaker")) {
    buttons.push(h("a", { class: "button", id: "tc-breaker", href: "#/dashboard" }, "Circuit breaker (dashboard)"));
  }
  return h("div", { class: "actions", id: "tc-actions" }, buttons.length ? buttons
    : h("span", { class: "muted" }, "Nothing to do here."));
}

async function showTimecard(root, companyId, id) {
  const head = h("div", { id: "tc-head" });
  const storyList = h("ol", { class: "story", id: "tc-story", reversed: true });
  const more = h("div", { id: "tc-more" });
  const out = h("div", { class: "out", id: "tc-out" });
  root.append(h("p", {}, h("a", { href: "#/timecards" }, "← Find a timecard"), " · ", h("a", { href: "#/dashboard" }, "Dashboard")),
    head, panel("What happened, newest first", storyList, more));

  const load = async (cursor) => {
    const [data, states] = await Promise.all([
      get(`timecards/${id}/sync`, { companyId, limit: PAGE, cursor }),
      cursor ? Promise.resolve(null) : get("health/timecards", { companyId, timecardId: [id] }),
    ]);
    return { data, state: states ? states.timecards[id] : null };
  };

  const draw = async () => {
    let got;
    try {
      got = await load();
    } catch (err) {
      replace(head, h("h1", {}, "Timecard"), errorBox(err.status === 404 ? "This timecard is not one of this "
        + "company's (or it no longer exists). Find it by its worker, project or date." : err));
      return;
    }
    const { data, state } = got;
    const sync = data.sync || {};
    const title = data.timecard ? data.timecard.label : "A timecard no longer in CrewFlow";
    replace(head,
      h("h1", { id: "tc-title" }, title),
      h("div", { class: `tc-now tc-now-${STATE_PILL[sync.state] || "info"}`, id: "tc-now", dataset: { state: sync.state } },
        h("strong", { id: "tc-sentence" }, sync.sentence)),
      h("dl", { class: "facts", id: "tc-facts" },
        h("dt", {}, "What happens next"), h("dd", { id: "tc-next" }, nextWords(sync)),
        data.timecard ? [h("dt", {}, "In CrewFlow"), h("dd", {}, `${data.timecard.status}, version ${data.timecard.version}`)]
          : null,
        sync.syncedAt ? [h("dt", {}, "Last sent"), h("dd", {}, dateTime(sync.syncedAt))] : null),
      actionsBlock(data, state, companyId, out, draw),
      out,
      technical(h("dl", { class: "facts" },
        h("dt", {}, "Timecard id"), h("dd", {}, data.timecardId),
        sync.qboId ? [h("dt", {}, "QuickBooks time entry"), h("dd", {}, sync.qboId)] : null,
        sync.realmId ? [h("dt", {}, "QuickBooks company"), h("dd", {}, sync.realmId)] : null,
        h("dt", {}, "Time zone"), h("dd", {}, data.timezone || "—"))),
    );
    replace(storyList, (data.story || []).map(storyItem));
    if (!(data.story || []).length) replace(storyList, h("li", { class: "muted" }, "Nothing has happened to it yet."));
    showMore(data.nextCursor);
  };

  const showMore = (cursor) => {
    if (!cursor) {
      replace(more);
      return;
    }
    replace(more, h("button", {
      id: "tc-older",
      onclick: async (ev) => {
        try {
          const { data } = await busy(ev.currentTarget, () => load(cursor));
          storyList.append(...(data.story || []).map(storyItem));
          showMore(data.nextCursor);
        } catch (err) {
          replace(more, errorBox(err));
        }
      },
    }, "Show older"));
  };
  await draw();
}

const STATES = [["", "Any state"], ["needs_you", "Needs you"], ["waiting", "Waiting"], ["sending", "Sending"],
  ["not_sent", "Not sent"], ["in_quickbooks", "In QuickBooks"], ["removed", "Not in QuickBooks (removed)"]];

function finder(root, companyId, params) {
  const field = (id, label, attrs) => h("label", { class: "field", for: id }, h("span", {}, label),
    h("input", { id, name: id.slice(3), ...attrs, value: params.get(id.slice(3)) || "" }));
  const state = h("select", { id: "tc-state", name: "state" },
    STATES.map(([v, t]) => h("option", { value: v, selected: params.get("state") === v }, t)));
  const results = h("div", { id: "tc-results" });
  const out = h("div", { class: "out", id: "tc-find-out" });
  let cursor = null;
  const form = h("form", { class: "filters", id: "tc-find" },
    field("tc-worker", "Worker", { type: "search", placeholder: "Part of the name" }),
    field("tc-project", "Project", { type: "search", placeholder: "Part of the name" }),
    field("tc-from", "From", { type: "date" }),
    field("tc-to", "To", { type: "date" }),
    h("label", { class: "field", for: "tc-state" }, h("span", {}, "State"), state),
    h("button", { type: "submit", class: "primary" }, "Find"));

  const query = () => {
    const q = { companyId, limit: PAGE };
    for (const name of ["worker", "project", "from", "to", "state"]) {
      const v = form.elements[name].value.trim();
      if (v) q[name] = v;
    }
    return q;
  };
  const rows = (items) => items.map((t) => h("tr", { dataset: { timecardId: t.timecardId } },
    h("td", {}, h("a", { href: `#/timecard?id=${t.timecardId}`, class: "tc-link" }, t.label)),
    h("td", {}, h("span", { class: `pill pill-${STATE_PILL[t.sync.state] || "info"}` }, STATE_WORDS[t.sync.state] || t.sync.state)),
    h("td", {}, t.sync.sentence)));
  const search = async (append) => {
    try {
      const q = query();
      if (append && cursor) q.cursor = cursor;
      const res = await get("timecards", q);
      cursor = res.nextCursor;
      const tbody = results.querySelector("tbody");
      if (append && tbody) tbody.append(...rows(res.items));
      else if (!res.items.length) replace(results, message("info", "No timecard fits these filters."));
      else replace(results, table({ id: "tc-found" }, ["Timecard", "State", "Now"], rows(res.items)));
      results.querySelector("#tc-found-more")?.remove();
      if (cursor) {
        results.append(h("button", { id: "tc-found-more", onclick: () => search(true) }, "Show more"));
      }
      replace(out);
    } catch (err) {
      feedback(out, errorBox(err));
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    search(false);
  });
  root.append(panel(null, h("p", { class: "muted" }, "Find a timecard by its worker, project, dates or how it "
    + "stands, then open it to see what happened to it and what happens next."), form, out), results);
  search(false);
}

export async function render(root, { companyId, params }) {
  if (!companyId) {
    replace(root, h("h1", {}, "Timecards"), needToken());
    return undefined;
  }
  const id = params.get("id");
  if (id) await showTimecard(root, companyId, id);
  else {
    root.append(h("h1", {}, "Find a timecard"));
    finder(root, companyId, params);
  }
  return undefined;
}
