/* Live recruitment dashboard: no build step, no dependencies besides the vendored Chart.js.
   A desk view (fluid, phone to 4K) and a wall view (?wall=1 or the toggle: the whole screen, large
   figures, the leaderboard in pages that turn by themselves). */
(function () {
  "use strict";

  var I18N = {
    en: {
      title: "Volunteer recruitment", doc_title: "Recruitment dashboard", as_of: "As of",
      connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", error: "Offline",
      language: "Language:", wall: "Wall screen",
      progress_title: "Progress to target", of: "of", applications_lc: "applications",
      erased: "Erased on request (still counted)", pace: "Recent pace",
      pace_value: "{n} a day (last {d} days)", pace_value_1: "{n} on the one day so far",
      funnel: "Funnel (ever reached)", submitted: "Submitted", scheduled: "Interview scheduled",
      interviewed: "Interviewed", selected: "Selected", rejected: "Rejected", no_show: "No-show",
      current: "Where applicants are now", queued: "Queued for interview", deferred: "Deferred (election)",
      awaiting_result: "Awaiting result", placed: "Placed", waitlisted: "Waitlisted",
      levels: "Placements by level", level_state: "State units", level_district: "District units", level_block: "Block units",
      cumulative: "Applications so far vs target", daily: "Applications per day",
      outcomes: "Selected and placed per day", leaderboard: "State leaderboard",
      col_state: "State", col_applications: "Appli\u00adcations", col_share: "Share", col_interviewed: "Inter\u00adviewed",
      col_selected: "Selected", col_placed: "Placed", no_data: "No data yet.",
      ds_applications: "Applications", ds_selected: "Selected", ds_placed: "Placed", ds_total: "Applications so far",
      ds_target: "Target", pause: "Pause", resume: "Resume", ranks: "Ranks {a}–{b} of {n}",
      sum_cumulative: "{total} applications so far against a target of {target} ({pct}).",
      sum_daily: "{days} days from {first} to {last}; latest day {lastn}; busiest day {max} on {maxday}.",
      sum_outcomes: "Over {days} days: {sel} selected and {plc} placed; on the latest day {lsel} selected and {lplc} placed.",
      sum_none: "No data yet.",
      unauthorized: "Access denied. Open this page with ?token=YOUR_READ_TOKEN.",
      footer: "Aggregate counts only — no names, phone numbers or e-mail addresses are shown.",
      toggle: "हिन्दी", toggle_lang: "hi"
    },
    hi: {
      title: "स्वयंसेवक भर्ती", doc_title: "भर्ती डैशबोर्ड", as_of: "अद्यतन",
      connecting: "जुड़ रहा है…", live: "लाइव", reconnecting: "फिर से जुड़ रहा है…", error: "ऑफ़लाइन",
      language: "भाषा:", wall: "दीवार स्क्रीन",
      progress_title: "लक्ष्य की ओर प्रगति", of: "लक्ष्य", applications_lc: "आवेदन",
      erased: "अनुरोध पर मिटाए गए (गिनती में शामिल)", pace: "हाल की गति",
      pace_value: "{n} प्रतिदिन (पिछले {d} दिन)", pace_value_1: "अब तक के एक दिन में {n}",
      funnel: "चरणवार संख्या (कभी पहुँचे)", submitted: "आवेदन जमा", scheduled: "साक्षात्कार तय",
      interviewed: "साक्षात्कार हुआ", selected: "चयनित", rejected: "अस्वीकृत", no_show: "अनुपस्थित",
      current: "आवेदक अभी कहाँ हैं", queued: "साक्षात्कार की कतार में", deferred: "स्थगित (चुनाव)",
      awaiting_result: "परिणाम की प्रतीक्षा", placed: "नियुक्त", waitlisted: "प्रतीक्षा सूची",
      levels: "स्तर अनुसार नियुक्तियाँ", level_state: "राज्य इकाइयाँ", level_district: "ज़िला इकाइयाँ", level_block: "ब्लॉक इकाइयाँ",
      cumulative: "अब तक के आवेदन बनाम लक्ष्य", daily: "प्रतिदिन आवेदन",
      outcomes: "प्रतिदिन चयनित और नियुक्त", leaderboard: "राज्यवार तालिका",
      col_state: "राज्य", col_applications: "आवेदन", col_share: "हिस्सा", col_interviewed: "साक्षात्कार",
      col_selected: "चयनित", col_placed: "नियुक्त", no_data: "अभी कोई आँकड़ा नहीं।",
      ds_applications: "आवेदन", ds_selected: "चयनित", ds_placed: "नियुक्त", ds_total: "अब तक के आवेदन",
      ds_target: "लक्ष्य", pause: "रोकें", resume: "फिर चलाएँ", ranks: "क्रम {a}–{b}, कुल {n}",
      sum_cumulative: "अब तक {total} आवेदन, लक्ष्य {target} ({pct})।",
      sum_daily: "{first} से {last} तक {days} दिन; अंतिम दिन {lastn}; सबसे अधिक {max}, {maxday} को।",
      sum_outcomes: "{days} दिनों में {sel} चयनित और {plc} नियुक्त; अंतिम दिन {lsel} चयनित और {lplc} नियुक्त।",
      sum_none: "अभी कोई आँकड़ा नहीं।",
      unauthorized: "पहुँच अस्वीकृत। इस पेज को ?token=YOUR_READ_TOKEN के साथ खोलें।",
      footer: "केवल कुल संख्याएँ — कोई नाम, फ़ोन नंबर या ई-मेल नहीं दिखाया जाता।",
      toggle: "English", toggle_lang: "en"
    }
  };

  var ROTATE_MS = 10000;  // a wall page of the leaderboard stays this long: time to read a dozen rows
  var params = new URLSearchParams(location.search);
  var TOKEN = params.get("token") || "";
  var nf = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 0 });
  var pf = new Intl.NumberFormat("en-IN", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var pf2 = new Intl.NumberFormat("en-IN", { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var root = document.documentElement;

  var lang = (function () {
    var q = params.get("lang");
    if (q === "hi" || q === "en") return q;
    try { var s = localStorage.getItem("lang"); if (s === "hi" || s === "en") return s; } catch (e) {}
    return (navigator.language || "").toLowerCase().indexOf("hi") === 0 ? "hi" : "en";
  })();
  var wall = params.get("wall") === "1";

  var summary = null, statesRows = null, series = null, connState = "connecting";
  var charts = {};

  function $(id) { return document.getElementById(id); }
  function t(key) { return (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }

  // ---------- rendering helpers ----------
  function setNum(id, v) {
    var el = typeof id === "string" ? $(id) : id;
    if (!el) return;
    if (typeof v === "number" && isFinite(v)) {
      el.setAttribute("data-value", String(v));
      el.textContent = nf.format(v);
    } else {
      el.setAttribute("data-value", "");
      el.textContent = "—";
    }
  }
  function n(v) { return typeof v === "number" && isFinite(v) ? v : 0; }

  function fmtTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso || "—";
    try {
      return d.toLocaleString(lang === "hi" ? "hi-IN" : "en-IN", {
        timeZone: "Asia/Kolkata", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit"
      }) + " IST";
    } catch (e) { return d.toISOString(); }
  }

  function applyLang() {
    root.lang = lang === "hi" ? "hi-IN" : "en-IN";
    document.title = t("doc_title");
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
    var b = $("lang-toggle-text");
    b.textContent = t("toggle");
    b.setAttribute("lang", t("toggle_lang"));
    setConn(connState);
    renderRotationControls();
    if (summary) renderSummary(summary);
    if (statesRows) renderStates(statesRows);
    renderSeries(series);
    // Canvas text does not wait for a web font: draw the charts again once the Devanagari one is in.
    if (lang === "hi" && document.fonts && document.fonts.load) {
      document.fonts.load('600 16px "Recruit Devanagari"', "आवेदन").then(function () { renderSeries(series, true); },
                                                                       noop);
    }
  }

  function setConn(state) {
    connState = state;
    $("connection").setAttribute("data-state", state);
    $("connection-text").textContent = t(state);
  }

  function notice(msg) {
    var el = $("notice");
    el.textContent = msg || "";
    el.hidden = !msg;
  }

  // ---------- wall mode ----------
  function setWall(on) {
    wall = on;
    root.classList.toggle("wall", on);
    $("wall-toggle").setAttribute("aria-pressed", String(on));
    var url = new URL(location.href);
    if (on) url.searchParams.set("wall", "1"); else url.searchParams.delete("wall");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    layoutChanged();
  }

  var resizeTimer = null;
  function layoutChanged() {
    // Fonts scale with the screen: the charts' text too, and the leaderboard's pages are measured again.
    Object.keys(charts).forEach(function (k) { styleChart(charts[k]); charts[k].resize(); charts[k].update("none"); });
    paginate();
  }

  // ---------- summary ----------
  function renderSummary(s) {
    setNum("applications", s.applications);
    setNum("target", s.target);
    setNum("erased", s.erased);
    var p = typeof s.progress === "number" ? s.progress : (s.target ? n(s.applications) / s.target : 0);
    var pe = $("progress");
    pe.setAttribute("data-value", String(p));
    pe.textContent = (p > 0 && p < 0.01 ? pf2 : pf).format(p);  // 67 of 5 lakh is 0.01 %, not 0.0 %
    var pct = Math.max(0, Math.min(100, p * 100));
    $("progress-fill").style.width = pct + "%";
    $("progress-bar").setAttribute("aria-valuenow", pct.toFixed(1));
    $("progress-bar").setAttribute("aria-valuetext", nf.format(n(s.applications)) + " / " + nf.format(n(s.target)) +
                                   " (" + pf.format(p) + ")");

    var f = s.funnel || {};
    var top = Math.max(1, n(f.submitted));
    ["submitted", "scheduled", "interviewed", "selected", "rejected", "no_show"].forEach(function (k) {
      setNum("funnel-" + k, f[k]);
      var bar = document.querySelector('.fill[data-for="funnel-' + k + '"]');
      if (bar) bar.style.width = Math.min(100, n(f[k]) / top * 100) + "%";
    });
    var c = s.current || {};
    ["queued", "deferred", "awaiting_result", "placed", "waitlisted"].forEach(function (k) { setNum("current-" + k, c[k]); });
    var l = s.placed_by_level || {};
    ["state", "district", "block"].forEach(function (k) { setNum("level-" + k, l[k]); });

    var asOf = $("as-of");
    asOf.setAttribute("data-value", s.as_of || "");
    if (s.as_of) asOf.setAttribute("datetime", s.as_of);
    asOf.textContent = s.as_of ? fmtTime(s.as_of) : "—";
    if (series) renderSeries(series);  // the cumulative chart's target comes from here
  }

  function acceptSummary(s) {
    if (!s || typeof s !== "object") return false;
    // ignore a summary older than the one shown (initial fetch racing the stream)
    if (summary && summary.as_of && s.as_of && Date.parse(s.as_of) < Date.parse(summary.as_of)) return false;
    summary = s;
    renderSummary(s);
    return true;
  }

  // ---------- leaderboard ----------
  function renderStates(rows) {
    var body = $("states-body");
    var frag = document.createDocumentFragment();
    var max = 1;
    rows.forEach(function (r) { max = Math.max(max, n(r.applications)); });
    rows.forEach(function (r, i) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-state", r.state);
      var rank = document.createElement("td"); rank.className = "rank"; rank.textContent = String(i + 1); tr.appendChild(rank);
      var name = document.createElement("td"); name.className = "name";
      name.textContent = (lang === "hi" && r.name_hi) ? r.name_hi : (r.name || r.name_en || r.state);
      // The space outside the code's span: a narrow column may break the line there.
      var code = document.createElement("span"); code.className = "code"; code.textContent = r.state;
      name.appendChild(document.createTextNode(" "));
      name.appendChild(code);
      tr.appendChild(name);
      var app = document.createElement("td"); app.className = "applications"; setNum(app, r.applications); tr.appendChild(app);
      var share = document.createElement("td"); share.className = "share"; share.setAttribute("aria-hidden", "true");
      share.innerHTML = '<span class="track"><span class="fill"></span></span>';
      share.firstChild.firstChild.style.width = (n(r.applications) / max * 100) + "%";
      tr.appendChild(share);
      ["interviewed", "selected", "placed"].forEach(function (k) {
        var td = document.createElement("td"); td.className = k; setNum(td, r[k]); tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    body.textContent = "";
    body.appendChild(frag);
    $("states-empty").hidden = rows.length > 0;
    paginate();
  }

  // Wall mode: as many rows as the screen holds; more states than that turn over a page at a time.
  // Pages are measured row by row (a long name may take two lines) each time, all in one task: no flicker.
  var page = 0, pageStarts = [], rotateTimer = null, paused = false;
  function paginate() {
    var rows = [].slice.call($("states-body").rows);
    if (!wall || !rows.length || window.innerWidth < 900) {
      rows.forEach(function (r) { r.hidden = false; });
      pageStarts = [];
      return renderRotationControls();
    }
    rows.forEach(function (r) { r.hidden = false; });
    var room = document.querySelector(".table-scroll").clientHeight - $("states-table").tHead.offsetHeight;
    var used = 0;
    pageStarts = [0];
    rows.forEach(function (r, i) {
      var h = r.getBoundingClientRect().height;
      if (i > 0 && used + h > room) { pageStarts.push(i); used = 0; }
      used += h;
    });
    if (page >= pageStarts.length) page = 0;
    var from = pageStarts[page], to = page + 1 < pageStarts.length ? pageStarts[page + 1] : rows.length;
    rows.forEach(function (r, i) { r.hidden = i < from || i >= to; });
    renderRotationControls();
  }

  function renderRotationControls() {
    var total = $("states-body").rows.length;
    var rotating = wall && pageStarts.length > 1;
    $("rotation").hidden = !rotating;
    if (rotating) {
      var a = pageStarts[page] + 1, b = page + 1 < pageStarts.length ? pageStarts[page + 1] : total;
      $("rotation-range").textContent = fill(t("ranks"), { a: a, b: b, n: total });
      $("rotate-toggle").setAttribute("aria-pressed", String(paused));
      $("rotate-toggle").firstChild.textContent = paused ? t("resume") : t("pause");
    }
    if (rotating && !paused && !rotateTimer) {
      rotateTimer = setInterval(function () { page += 1; paginate(); }, ROTATE_MS);
    } else if ((!rotating || paused) && rotateTimer) {
      clearInterval(rotateTimer);
      rotateTimer = null;
    }
  }

  // ---------- time series: three charts, each on its own scale ----------
  function dayLabel(d) {
    var dt = new Date(d + (d.length === 10 ? "T00:00:00Z" : ""));
    if (isNaN(dt)) return d;
    try { return dt.toLocaleDateString(lang === "hi" ? "hi-IN" : "en-IN", { day: "numeric", month: "short", timeZone: "UTC" }); }
    catch (e) { return d; }
  }
  function dayBefore(d) {
    var dt = new Date(d + "T00:00:00Z");
    if (isNaN(dt)) return d;
    dt.setUTCDate(dt.getUTCDate() - 1);
    return dt.toISOString().slice(0, 10);
  }

  function cssVar(name, fallback) {
    return getComputedStyle(root).getPropertyValue(name).trim() || fallback;
  }
  function fontPx() { return parseFloat(getComputedStyle(root).fontSize) || 15; }
  var FONT = '"Recruit Devanagari", system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif';

  function styleChart(chart) {
    var size = Math.round(fontPx() * (wall ? 0.9 : 0.8));
    var o = chart.options;
    o.font = { family: FONT, size: size };
    o.plugins.legend.labels.font = { family: FONT, size: size };
    o.plugins.tooltip.titleFont = o.plugins.tooltip.bodyFont = { family: FONT, size: size };
    Object.keys(o.scales).forEach(function (k) {
      o.scales[k].ticks.font = { family: FONT, size: size };
      o.scales[k].ticks.color = cssVar("--muted", "#5b6876");
    });
  }

  function makeChart(canvasId, type, datasets, extra) {
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { display: datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + nf.format(ctx.parsed.y); } } }
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true } },
        y: { beginAtZero: true, ticks: { precision: 0, callback: function (v) { return nf.format(v); } } }
      }
    };
    if (extra) extra(options);
    var chart = new window.Chart($(canvasId), { type: type, data: { labels: [], datasets: datasets }, options: options });
    styleChart(chart);
    return chart;
  }

  function ensureCharts() {
    if (charts.daily || typeof window.Chart !== "function") return !!charts.daily;
    var c1 = cssVar("--c1", "#3b5b7d"), c2 = cssVar("--c2", "#2f7273"), c3 = cssVar("--c3", "#8a6845");
    charts.cumulative = makeChart("cumulative-chart", "line", [
      { label: "", data: [], borderColor: c1, backgroundColor: c1 + "22", fill: "origin", pointRadius: 2, tension: 0, borderWidth: 3 },
      { label: "", data: [], borderColor: c3, borderDash: [8, 6], pointRadius: 0, borderWidth: 2, fill: false }
    ], function (o) { o.plugins.legend.display = true; o.scales.y.ticks.maxTicksLimit = 6; });
    charts.daily = makeChart("timeseries-chart", "bar", [
      { label: "", data: [], backgroundColor: c1 + "cc", borderRadius: 3, maxBarThickness: 64 }
    ]);
    charts.outcomes = makeChart("outcomes-chart", "bar", [
      { label: "", data: [], backgroundColor: c2, borderRadius: 3, maxBarThickness: 40 },
      { label: "", data: [], backgroundColor: c3, borderRadius: 3, maxBarThickness: 40 }
    ]);
    return true;
  }

  function renderSeries(s, redraw) {
    var pts = (s && Array.isArray(s.points)) ? s.points : [];
    $("chart-empty").hidden = pts.length > 0;
    var apps = pts.map(function (p) { return n(p.applications); });
    renderPace(pts, apps);
    if (!ensureCharts()) return;
    var labels = pts.map(function (p) { return dayLabel(p.date); });
    var sel = pts.map(function (p) { return n(p.selected); });
    var plc = pts.map(function (p) { return n(p.placed); });

    // Cumulative, from the day before the first one (nothing yet): a one-day campaign is still a line.
    var target = summary ? n(summary.target) : 0;
    var total = 0, cumulative = pts.length ? [0] : [];
    apps.forEach(function (a) { total += a; cumulative.push(total); });
    var cumLabels = pts.length ? [dayLabel(dayBefore(pts[0].date))].concat(labels) : [];
    var cum = charts.cumulative;
    cum.data.labels = cumLabels;
    cum.data.datasets[0].label = t("ds_total");
    cum.data.datasets[0].data = cumulative;
    cum.data.datasets[1].label = t("ds_target") + " " + nf.format(target);
    cum.data.datasets[1].data = cumLabels.map(function () { return target || null; });
    // The whole way to the target, so the line's height is the share of it reached.
    cum.options.scales.y.max = target && total < target ? target : undefined;

    charts.daily.data.labels = labels;
    charts.daily.data.datasets[0].label = t("ds_applications");
    charts.daily.data.datasets[0].data = apps;

    charts.outcomes.data.labels = labels;
    charts.outcomes.data.datasets[0].label = t("ds_selected");
    charts.outcomes.data.datasets[0].data = sel;
    charts.outcomes.data.datasets[1].label = t("ds_placed");
    charts.outcomes.data.datasets[1].data = plc;

    Object.keys(charts).forEach(function (k) { if (redraw) styleChart(charts[k]); charts[k].update("none"); });
    describeCharts(pts, apps, sel, plc, total, target);
  }

  // What each chart shows, in words, for a screen reader (a canvas is a picture).
  function describeCharts(pts, apps, sel, plc, total, target) {
    var none = t("sum_none");
    var shown = summary ? n(summary.applications) : total;
    $("cumulative-chart").setAttribute("aria-label", t("cumulative") + ". " + (pts.length ? fill(t("sum_cumulative"), {
      total: nf.format(shown), target: nf.format(target), pct: pf.format(target ? shown / target : 0) }) : none));
    if (!pts.length) {
      $("timeseries-chart").setAttribute("aria-label", t("daily") + ". " + none);
      $("outcomes-chart").setAttribute("aria-label", t("outcomes") + ". " + none);
      return;
    }
    var maxI = 0;
    apps.forEach(function (a, i) { if (a > apps[maxI]) maxI = i; });
    var last = pts.length - 1;
    $("timeseries-chart").setAttribute("aria-label", t("daily") + ". " + fill(t("sum_daily"), {
      days: pts.length, first: dayLabel(pts[0].date), last: dayLabel(pts[last].date), lastn: nf.format(apps[last]),
      max: nf.format(apps[maxI]), maxday: dayLabel(pts[maxI].date) }));
    var sum = function (xs) { return xs.reduce(function (a, b) { return a + b; }, 0); };
    $("outcomes-chart").setAttribute("aria-label", t("outcomes") + ". " + fill(t("sum_outcomes"), {
      days: pts.length, sel: nf.format(sum(sel)), plc: nf.format(sum(plc)), lsel: nf.format(sel[last]),
      lplc: nf.format(plc[last]) }));
  }

  // The average of the last (up to) seven days, today included.
  function renderPace(pts, apps) {
    var el = $("pace");
    if (!pts.length) { el.setAttribute("data-value", ""); el.textContent = "—"; return; }
    var recent = apps.slice(-7);
    var avg = recent.reduce(function (a, b) { return a + b; }, 0) / recent.length;
    el.setAttribute("data-value", String(avg));
    el.textContent = recent.length === 1 ? fill(t("pace_value_1"), { n: nf.format(avg) })
      : fill(t("pace_value"), { n: nf.format(avg), d: recent.length });
  }

  // ---------- fetching ----------
  function api(path) {
    var headers = { Accept: "application/json" };
    if (TOKEN) headers.Authorization = "Bearer " + TOKEN;
    return fetch(path, { headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 401 || r.status === 403) { notice(t("unauthorized")); throw new Error("auth " + r.status); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  function loadSummary() { return api("/v1/stats/summary").then(acceptSummary); }
  function loadStates() {
    return api("/v1/stats/states").then(function (rows) {
      if (rows && !Array.isArray(rows) && Array.isArray(rows.items)) rows = rows.items;
      if (Array.isArray(rows)) { statesRows = rows; renderStates(rows); }
    });
  }
  function loadSeries() {
    return api("/v1/stats/timeseries?bucket=day").then(function (s) { series = s; renderSeries(s); });
  }

  // Re-fetch states and time series at most once per second, never overlapping.
  var lastRefresh = 0, refreshTimer = null, inflight = false, again = false;
  function scheduleRefresh() {
    if (refreshTimer) return;
    if (inflight) { again = true; return; }
    var wait = Math.max(0, lastRefresh + 1000 - Date.now());
    refreshTimer = setTimeout(doRefresh, wait);
  }
  function doRefresh() {
    refreshTimer = null;
    inflight = true;
    lastRefresh = Date.now();
    var done = function () {
      inflight = false;
      if (again) { again = false; scheduleRefresh(); }
    };
    Promise.all([loadStates().catch(noop), loadSeries().catch(noop)]).then(done, done);
  }
  function noop() {}

  // ---------- live stream ----------
  var es = null, retryMs = 1000, pollTimer = null;
  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(function () {
      loadSummary().then(function (changed) { if (changed) scheduleRefresh(); }).catch(noop);
    }, 10000);
  }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  function onStreamMessage(ev) {
    var s;
    try { s = JSON.parse(ev.data); } catch (e) { return; }
    if (connState !== "live") setConn("live");
    retryMs = 1000;
    if (acceptSummary(s)) scheduleRefresh();
  }

  function connect() {
    if (typeof window.EventSource !== "function") { startPolling(); return; }
    var url = "/v1/stream" + (TOKEN ? "?token=" + encodeURIComponent(TOKEN) : "");
    es = new EventSource(url);
    es.onopen = function () { setConn("live"); retryMs = 1000; stopPolling(); };
    es.addEventListener("summary", onStreamMessage);
    es.onmessage = onStreamMessage;
    es.onerror = function () {
      setConn("reconnecting");
      startPolling();
      if (es.readyState === 2 /* CLOSED: browser gave up, e.g. 401/404 */) {
        es.close(); es = null;
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    };
  }

  // ---------- boot ----------
  function boot() {
    $("lang-toggle").addEventListener("click", function () {
      lang = lang === "hi" ? "en" : "hi";
      try { localStorage.setItem("lang", lang); } catch (e) {}
      applyLang();
    });
    $("wall-toggle").addEventListener("click", function () { setWall(!wall); });
    $("rotate-toggle").addEventListener("click", function () { paused = !paused; renderRotationControls(); });
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(layoutChanged, 200);
    });
    root.classList.toggle("wall", wall);
    $("wall-toggle").setAttribute("aria-pressed", String(wall));
    applyLang();
    loadSummary().catch(noop);
    doRefresh();
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
