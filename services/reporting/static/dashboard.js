/* Live recruitment dashboard: no build step, no dependencies besides the vendored Chart.js. */
(function () {
  "use strict";

  var I18N = {
    en: {
      title: "Volunteer recruitment", doc_title: "Recruitment dashboard", as_of: "As of",
      connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", error: "Offline",
      progress_title: "Progress to target", of: "of", applications_lc: "applications",
      erased: "Erased on request (still counted)",
      funnel: "Funnel (ever reached)", submitted: "Submitted", scheduled: "Interview scheduled",
      interviewed: "Interviewed", selected: "Selected", rejected: "Rejected", no_show: "No-show",
      current: "Where applicants are now", queued: "Queued for interview", deferred: "Deferred (election)",
      awaiting_result: "Awaiting result", placed: "Placed", waitlisted: "Waitlisted",
      levels: "Placements by level", level_state: "State units", level_district: "District units", level_block: "Block units",
      daily: "Applications per day", leaderboard: "State leaderboard",
      col_state: "State", col_applications: "Applications", col_share: "Share", col_interviewed: "Interviewed",
      col_selected: "Selected", col_placed: "Placed", no_data: "No data yet.",
      ds_applications: "Applications", ds_selected: "Selected", ds_placed: "Placed",
      unauthorized: "Access denied. Open this page with ?token=YOUR_READ_TOKEN.",
      footer: "Aggregate counts only — no names, phone numbers or e-mail addresses are shown.",
      toggle: "हिन्दी", toggle_lang: "hi"
    },
    hi: {
      title: "स्वयंसेवक भर्ती", doc_title: "भर्ती डैशबोर्ड", as_of: "अद्यतन",
      connecting: "जुड़ रहा है…", live: "लाइव", reconnecting: "फिर से जुड़ रहा है…", error: "ऑफ़लाइन",
      progress_title: "लक्ष्य की ओर प्रगति", of: "लक्ष्य", applications_lc: "आवेदन",
      erased: "अनुरोध पर मिटाए गए (गिनती में शामिल)",
      funnel: "चरणवार संख्या (कभी पहुँचे)", submitted: "आवेदन जमा", scheduled: "साक्षात्कार तय",
      interviewed: "साक्षात्कार हुआ", selected: "चयनित", rejected: "अस्वीकृत", no_show: "अनुपस्थित",
      current: "आवेदक अभी कहाँ हैं", queued: "साक्षात्कार की कतार में", deferred: "स्थगित (चुनाव)",
      awaiting_result: "परिणाम की प्रतीक्षा", placed: "नियुक्त", waitlisted: "प्रतीक्षा सूची",
      levels: "स्तर अनुसार नियुक्तियाँ", level_state: "राज्य इकाइयाँ", level_district: "ज़िला इकाइयाँ", level_block: "ब्लॉक इकाइयाँ",
      daily: "प्रतिदिन आवेदन", leaderboard: "राज्यवार तालिका",
      col_state: "राज्य", col_applications: "आवेदन", col_share: "हिस्सा", col_interviewed: "साक्षात्कार",
      col_selected: "चयनित", col_placed: "नियुक्त", no_data: "अभी कोई आँकड़ा नहीं।",
      ds_applications: "आवेदन", ds_selected: "चयनित", ds_placed: "नियुक्त",
      unauthorized: "पहुँच अस्वीकृत। इस पेज को ?token=YOUR_READ_TOKEN के साथ खोलें।",
      footer: "केवल कुल संख्याएँ — कोई नाम, फ़ोन नंबर या ई-मेल नहीं दिखाया जाता।",
      toggle: "English", toggle_lang: "en"
    }
  };

  var params = new URLSearchParams(location.search);
  var TOKEN = params.get("token") || "";
  var nf = new Intl.NumberFormat("en-IN", { maximumFractionDigits: 0 });
  var pf = new Intl.NumberFormat("en-IN", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });

  var lang = (function () {
    var q = params.get("lang");
    if (q === "hi" || q === "en") return q;
    try { var s = localStorage.getItem("lang"); if (s === "hi" || s === "en") return s; } catch (e) {}
    return (navigator.language || "").toLowerCase().indexOf("hi") === 0 ? "hi" : "en";
  })();

  var summary = null, statesRows = null, series = null, chart = null, connState = "connecting";

  function $(id) { return document.getElementById(id); }
  function t(key) { return (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key; }

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
    document.documentElement.lang = lang === "hi" ? "hi-IN" : "en-IN";
    document.title = t("doc_title");
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
    var b = $("lang-toggle");
    b.textContent = t("toggle");
    b.setAttribute("lang", t("toggle_lang"));
    setConn(connState);
    if (summary) renderSummary(summary);
    if (statesRows) renderStates(statesRows);
    if (series) renderSeries(series);
  }

  function setConn(state) {
    connState = state;
    var el = $("connection");
    el.setAttribute("data-state", state);
    $("connection-text").textContent = t(state);
  }

  function notice(msg) {
    var el = $("notice");
    el.textContent = msg || "";
    el.hidden = !msg;
  }

  // ---------- summary ----------
  function renderSummary(s) {
    setNum("applications", s.applications);
    setNum("target", s.target);
    setNum("erased", s.erased);
    var p = typeof s.progress === "number" ? s.progress : (s.target ? n(s.applications) / s.target : 0);
    var pe = $("progress");
    pe.setAttribute("data-value", String(p));
    pe.textContent = pf.format(p);
    var pct = Math.max(0, Math.min(100, p * 100));
    $("progress-fill").style.width = pct + "%";
    $("progress-bar").setAttribute("aria-valuenow", pct.toFixed(1));

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
      var code = document.createElement("span"); code.className = "code"; code.textContent = " " + r.state;
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
  }

  // ---------- time series ----------
  function dayLabel(d) {
    var dt = new Date(d + (d.length === 10 ? "T00:00:00Z" : ""));
    if (isNaN(dt)) return d;
    try { return dt.toLocaleDateString(lang === "hi" ? "hi-IN" : "en-IN", { day: "numeric", month: "short", timeZone: "UTC" }); }
    catch (e) { return d; }
  }

  function renderSeries(s) {
    var pts = (s && Array.isArray(s.points)) ? s.points : [];
    $("chart-empty").hidden = pts.length > 0;
    if (typeof window.Chart !== "function") return;
    var labels = pts.map(function (p) { return dayLabel(p.date); });
    var apps = pts.map(function (p) { return n(p.applications); });
    var sel = pts.map(function (p) { return n(p.selected); });
    var plc = pts.map(function (p) { return n(p.placed); });
    if (!chart) {
      var css = getComputedStyle(document.documentElement);
      var c1 = css.getPropertyValue("--c1").trim() || "#3b5b7d";
      var c2 = css.getPropertyValue("--c2").trim() || "#4f8a8b";
      var c3 = css.getPropertyValue("--c3").trim() || "#9a7b5a";
      chart = new window.Chart($("timeseries-chart"), {
        type: "bar",
        data: {
          labels: labels,
          datasets: [
            { label: t("ds_applications"), data: apps, backgroundColor: c1 + "cc", borderRadius: 3, yAxisID: "y", order: 2 },
            { type: "line", label: t("ds_selected"), data: sel, borderColor: c2, backgroundColor: c2, pointRadius: 2, tension: .25, yAxisID: "y1", order: 1 },
            { type: "line", label: t("ds_placed"), data: plc, borderColor: c3, backgroundColor: c3, pointRadius: 2, tension: .25, yAxisID: "y1", order: 0 }
          ]
        },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 12, sort: function (a, b) { return a.datasetIndex - b.datasetIndex; } } },
            tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + nf.format(ctx.parsed.y); } } }
          },
          scales: {
            x: { grid: { display: false } },
            y: { beginAtZero: true, ticks: { callback: function (v) { return nf.format(v); } } },
            y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { callback: function (v) { return nf.format(v); } } }
          }
        }
      });
      return;
    }
    chart.data.labels = labels;
    chart.data.datasets[0].data = apps; chart.data.datasets[0].label = t("ds_applications");
    chart.data.datasets[1].data = sel; chart.data.datasets[1].label = t("ds_selected");
    chart.data.datasets[2].data = plc; chart.data.datasets[2].label = t("ds_placed");
    chart.update("none");
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
    applyLang();
    loadSummary().catch(noop);
    doRefresh();
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
