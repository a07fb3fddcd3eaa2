// The directory import's questions, first on the mapping page. A QuickBooks record the import could not
// place for sure ("QuickBooks has Tom Bennett. Is this TOM BENNETT?": Link / Create a new worker / Skip),
// and a record the import made twice (merge it back: the QuickBooks link moves to the right worker, the
// empty one is deactivated). Each answer is sent at once; its result shows where the click was (the top of
// this panel, a live region) and stays there after the page reloads its records.

import { get, optional, post } from "../api.js";
import { busy, errorBox, h, message, panel, replace } from "../dom.js";

const NOUN = { Employee: "worker", Customer: "project" };
const REASONS = {
  email: "same email", name: "same name", variant: "same name, written differently", fuzzy: "similar name",
  ambiguous: "more than one record has this name", shared: "another record has the same best match",
  "email differs": "same name, different email",
};
const EMPTY = { proposals: [], merges: [] };
let note = null; // the last answer's result: shown again after the reload it causes, then forgotten

function useStyles() {
  if (document.getElementById("proposals-css")) return;
  document.head.append(h("link", { id: "proposals-css", rel: "stylesheet", href: new URL("../../proposals.css", import.meta.url).href }));
}

/** GET directory/proposals, or nothing to ask on a server without the route. */
export function loadProposals(companyId) {
  return optional(get("directory/proposals", { companyId }), EMPTY);
}

const pct = (c) => `${Math.round(c * 100)}%`;

/** The CrewFlow records a proposal may be linked to: its candidates, else every active, unlinked one. */
function choices(p, records) {
  if (p.candidates.length) {
    return p.candidates.map((c) => ({ id: c.crewflowId, label: `${c.name} · ${pct(c.confidence)} ${REASONS[c.reason] || c.reason}` }));
  }
  const rows = p.entityType === "Employee"
    ? (records.workers || []).filter((w) => w.active && !w.qboId)
    : (records.projects || []).filter((r) => r.status === "active" && !r.qboId);
  return rows.map((r) => ({ id: r.id, label: r.name }));
}

function proposalCard(companyId, p, records, answer) {
  const noun = NOUN[p.entityType];
  const out = h("div", { class: "out" });
  const options = choices(p, records);
  const select = options.length > 1 || !p.candidates.length
    ? h("select", { class: "proposal-choice", "aria-label": `CrewFlow ${noun} that QuickBooks' ${p.qboName} is` },
      p.candidates.length ? null : h("option", { value: "" }, `Choose a ${noun}…`),
      options.map((o) => h("option", { value: o.id }, o.label)))
    : null;
  const send = (decision) => async (ev) => {
    const crewflowId = decision === "link" ? (select ? select.value : options[0].id) : undefined;
    if (decision === "link" && !crewflowId) {
      replace(out, message("warn", `Choose the CrewFlow ${noun} first.`));
      return;
    }
    await answer(ev.currentTarget, out, () => post(`directory/proposals/${p.proposalId}/decision`, { companyId, decision, crewflowId }));
  };
  const one = !select && options[0];
  return h("div", { class: "proposal", dataset: { proposalId: p.proposalId } },
    h("p", { class: "question" }, p.question),
    p.candidates.length === 1 && one
      ? h("p", { class: "muted" }, `${REASONS[p.candidates[0].reason] || p.candidates[0].reason}, ${pct(p.candidates[0].confidence)} sure`
        + (p.qboEmail ? `; QuickBooks has the email ${p.qboEmail}` : ""))
      : null,
    select,
    h("div", { class: "actions" },
      options.length ? h("button", { type: "button", class: "primary link-choice", onclick: send("link") }, one ? `Link to ${one.label.split(" · ")[0]}` : "Link") : null,
      h("button", { type: "button", class: "create-new", onclick: send("create") }, `Create a new ${noun}`),
      h("button", { type: "button", class: "skip", onclick: send("skip") }, "Skip")),
    out);
}

function mergeCard(companyId, m, answer) {
  const out = h("div", { class: "out" });
  const retire = m.entityType === "Employee" ? "deactivate" : "archive";
  return h("div", { class: "proposal merge", dataset: { fromId: m.fromId } },
    h("p", { class: "question" }, m.question),
    h("div", { class: "actions" },
      h("button", {
        type: "button", class: "primary merge-back",
        onclick: (ev) => answer(ev.currentTarget, out, () => post("directory/merge", {
          companyId, entityType: m.entityType, fromId: m.fromId, intoId: m.intoId })),
      }, `Link to ${m.intoName} and ${retire} the empty ${m.fromName}`)),
    out);
}

/** The panel (null when there is nothing to ask and nothing to report). `afterChange` reloads the page's
 * records; it returns false when it did not (unsaved matches on the board), and the panel then refreshes
 * only itself. */
export function proposalsSection(companyId, data, records, afterChange) {
  useStyles();
  const root = h("div", { id: "proposals" });
  const live = h("div", { id: "proposals-note", role: "status", "aria-live": "polite", tabindex: "-1" });
  const draw = (d, focus) => {
    const shown = note;
    note = null;
    replace(live, shown ? message("ok", shown) : null);
    const asks = d.proposals || [];
    const merges = d.merges || [];
    if (!asks.length && !merges.length && !shown) {
      replace(root);
      return;
    }
    const answer = async (button, out, call) => {
      try {
        const res = await busy(button, call);
        note = res.message;
        if ((await afterChange()) === false) {
          note += " Save your matches below to see it on the board.";
          draw(await loadProposals(companyId), true);
        }
      } catch (err) {
        replace(out, errorBox(err));
      }
    };
    const n = asks.length + merges.length;
    replace(root, panel("Questions from the QuickBooks import",
      live,
      n ? h("p", {}, `${n} QuickBooks record(s) need your answer before the import links or creates anything for them.`)
        : h("p", { class: "muted" }, "Nothing left to answer."),
      merges.map((m) => mergeCard(companyId, m, answer)),
      asks.map((p) => proposalCard(companyId, p, records, answer))));
    // the answered card is gone: the keyboard lands on its result (once the page has attached the panel)
    if (focus && shown) requestAnimationFrame(() => live.isConnected && live.focus());
  };
  draw(data || EMPTY, Boolean(note));
  return root;
}
