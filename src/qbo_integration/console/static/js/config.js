// Console settings. The dashboard's refresh interval is 30 s; `?refresh=<seconds>` in the page URL
// (e.g. /console/?refresh=1#/dashboard) overrides it, which the browser tests use.

const params = new URLSearchParams(window.location.search);

function seconds(name, fallback) {
  const v = Number(params.get(name));
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

export const REFRESH_SECONDS = seconds("refresh", 30);
export const SETUP_DEADLINE_HOURS = 48;
