/* The applicant's status page: application id + phone in, the stage out in plain Hindi/English.
   The phone goes only into a fetch() to /v1/applications/{id}/status, never into the page's address. */
(function () {
  "use strict";

  var I18N = {
    en: {
      doc_title: "Application status", title: "Application status",
      intro: "Enter the application ID you were given when you applied, and the mobile number you applied with.",
      id_label: "Application ID", id_hint: "As shown on the confirmation, e.g. 3f6c2a1e-8b4d-4c1a-9e2f-7a5b6c8d9e0f",
      phone_label: "Mobile number",
      phone_hint: "The one you applied with, in any format: 98290 12345, +91 98290 12345, 098290-12345",
      check: "Check status", checking: "Checking…", your_status: "Your application's status",
      step_applied: "Applied", step_queue: "Interview queue", step_interview: "Interview", step_result: "Result",
      step_unit: "Unit", step_done: "(done)", step_now: "(you are here)", step_ended: "(ended here)",
      meaning_h: "What this means", next_h: "What happens next", updated: "Last change", unit_label: "Your unit",
      privacy: "Only you can see this: the status shows only when the ID and the mobile number belong together. " +
        "Your number is not stored by this page or put in its address.",
      id_missing: "Enter your application ID.",
      bad_id: "This is not an application ID. It has 32 letters (a–f) and digits in five groups joined by hyphens, " +
        "like 3f6c2a1e-8b4d-4c1a-9e2f-7a5b6c8d9e0f. Copy it from your confirmation.",
      phone_missing: "Enter the mobile number you applied with.",
      not_found: "We found no application with this ID and mobile number. Check both, and use the mobile number " +
        "you applied with. A new application can take a minute to appear here.",
      network: "Could not reach the server. Check your connection and try again.",
      unavailable: "The status service is not available right now. Please try again in a few minutes.",
      level_state: "state unit", level_district: "district unit", level_block: "block unit",
      stages: {
        submitted: ["Application received",
          "Your application has reached us and is being passed on for screening.",
          "It joins the interview queue of your state, usually within minutes. You need not do anything now."],
        queued: ["Waiting for an interview",
          "Your application is in the interview queue of your state. Interviews are held in the order applications arrived.",
          "An interviewer will call you on this mobile number to fix a time. Keep your phone reachable."],
        deferred: ["On hold during elections",
          "Elections are being held in your state, so interviews there are paused until polling ends.",
          "Your place is kept. When polling ends your application returns to the interview queue by itself; " +
          "you need not apply again."],
        scheduled: ["Interview scheduled",
          "An interview has been fixed for you.",
          "Attend at the time the interviewer gave you. You are scored on communication, content creation, " +
          "social media reach, political awareness and commitment; the result appears here afterwards."],
        selected: ["Selected",
          "Congratulations, you passed the interview.",
          "You are now being placed, by merit, in a unit of your state (state, district or block). " +
          "This page shows your unit as soon as it is decided."],
        rejected: ["Not selected",
          "Your interview score was below the selection mark this time.",
          "This application ends here. Thank you for offering your time."],
        no_show: ["Interview missed",
          "You were marked absent at your interview.",
          "This application ends here. If you think this is a mistake, contact the interviewer or the campaign " +
          "office that called you."],
        placed: ["Placed in a unit",
          "You were selected and, by merit, given a seat in a unit.",
          "The campaign team will call you on this mobile number to get you started. Your unit can still change " +
          "as seats are balanced by merit; this page always shows the current one."],
        waitlisted: ["Selected — on the waiting list",
          "You passed the interview, but every unit open to you is full for now.",
          "You get a seat by yourself, in merit order, when one frees up or units grow. You need not apply again."]
      }
    },
    hi: {
      doc_title: "आवेदन की स्थिति", title: "आवेदन की स्थिति",
      intro: "आवेदन करते समय मिली आवेदन संख्या और वह मोबाइल नंबर डालें जिससे आपने आवेदन किया था।",
      id_label: "आवेदन संख्या", id_hint: "जैसी पुष्टि में दिखी थी, जैसे 3f6c2a1e-8b4d-4c1a-9e2f-7a5b6c8d9e0f",
      phone_label: "मोबाइल नंबर",
      phone_hint: "जिससे आवेदन किया था, किसी भी रूप में: 98290 12345, +91 98290 12345, 098290-12345",
      check: "स्थिति देखें", checking: "जाँच हो रही है…", your_status: "आपके आवेदन की स्थिति",
      step_applied: "आवेदन", step_queue: "साक्षात्कार कतार", step_interview: "साक्षात्कार", step_result: "परिणाम",
      step_unit: "इकाई", step_done: "(पूरा)", step_now: "(आप यहाँ हैं)", step_ended: "(यहीं समाप्त)",
      meaning_h: "इसका अर्थ", next_h: "आगे क्या होगा", updated: "पिछला बदलाव", unit_label: "आपकी इकाई",
      privacy: "यह केवल आप देख सकते हैं: स्थिति तभी दिखती है जब आवेदन संख्या और मोबाइल नंबर एक ही आवेदन के हों। " +
        "यह पेज आपका नंबर न सहेजता है, न अपने पते में डालता है।",
      id_missing: "अपनी आवेदन संख्या डालें।",
      bad_id: "यह आवेदन संख्या नहीं है। इसमें हाइफ़न से जुड़े पाँच समूहों में 32 अक्षर (a–f) और अंक होते हैं, " +
        "जैसे 3f6c2a1e-8b4d-4c1a-9e2f-7a5b6c8d9e0f। इसे अपनी पुष्टि से कॉपी करें।",
      phone_missing: "वह मोबाइल नंबर डालें जिससे आपने आवेदन किया था।",
      not_found: "इस आवेदन संख्या और मोबाइल नंबर से कोई आवेदन नहीं मिला। दोनों जाँचें, और वही मोबाइल नंबर डालें " +
        "जिससे आवेदन किया था। नया आवेदन यहाँ दिखने में एक मिनट लग सकता है।",
      network: "सर्वर से संपर्क नहीं हो सका। अपना कनेक्शन जाँचें और फिर प्रयास करें।",
      unavailable: "स्थिति सेवा अभी उपलब्ध नहीं है। कृपया कुछ मिनट बाद फिर प्रयास करें।",
      level_state: "राज्य इकाई", level_district: "ज़िला इकाई", level_block: "ब्लॉक इकाई",
      stages: {
        submitted: ["आवेदन प्राप्त हुआ",
          "आपका आवेदन हमें मिल गया है और जाँच के लिए आगे भेजा जा रहा है।",
          "यह आम तौर पर कुछ ही मिनटों में आपके राज्य की साक्षात्कार कतार में जुड़ जाता है। अभी आपको कुछ नहीं करना है।"],
        queued: ["साक्षात्कार की प्रतीक्षा",
          "आपका आवेदन आपके राज्य की साक्षात्कार कतार में है। साक्षात्कार आवेदन आने के क्रम में होते हैं।",
          "साक्षात्कारकर्ता समय तय करने के लिए इसी मोबाइल नंबर पर आपको फ़ोन करेंगे। अपना फ़ोन चालू रखें।"],
        deferred: ["चुनाव के कारण रुका हुआ",
          "आपके राज्य में चुनाव हो रहे हैं, इसलिए मतदान समाप्त होने तक वहाँ साक्षात्कार रुके हुए हैं।",
          "आपका स्थान सुरक्षित है। मतदान समाप्त होते ही आपका आवेदन अपने-आप साक्षात्कार कतार में लौट आएगा; " +
          "दोबारा आवेदन करने की ज़रूरत नहीं है।"],
        scheduled: ["साक्षात्कार तय",
          "आपका साक्षात्कार तय हो गया है।",
          "साक्षात्कारकर्ता के बताए समय पर उपस्थित रहें। आपको संवाद, सामग्री निर्माण, सोशल मीडिया पहुँच, " +
          "राजनीतिक जागरूकता और प्रतिबद्धता पर अंक मिलेंगे; परिणाम बाद में यहीं दिखेगा।"],
        selected: ["चयनित",
          "बधाई हो, आप साक्षात्कार में सफल रहे।",
          "अब योग्यता के आधार पर आपको अपने राज्य की किसी इकाई (राज्य, ज़िला या ब्लॉक) में स्थान दिया जा रहा है। " +
          "इकाई तय होते ही यह पेज उसे दिखाएगा।"],
        rejected: ["चयन नहीं हुआ",
          "इस बार आपके साक्षात्कार के अंक चयन सीमा से कम रहे।",
          "यह आवेदन यहीं समाप्त होता है। अपना समय देने के लिए धन्यवाद।"],
        no_show: ["साक्षात्कार में अनुपस्थित",
          "साक्षात्कार में आपको अनुपस्थित दर्ज किया गया।",
          "यह आवेदन यहीं समाप्त होता है। यदि आपको लगता है कि यह गलती है, तो आपको फ़ोन करने वाले साक्षात्कारकर्ता " +
          "या अभियान कार्यालय से संपर्क करें।"],
        placed: ["इकाई में स्थान मिला",
          "आपका चयन हुआ और योग्यता के आधार पर आपको एक इकाई में स्थान मिला है।",
          "अभियान टीम काम शुरू कराने के लिए इसी मोबाइल नंबर पर आपको फ़ोन करेगी। योग्यता के अनुसार स्थान संतुलित " +
          "होने पर आपकी इकाई बदल भी सकती है; यह पेज हमेशा वर्तमान इकाई दिखाता है।"],
        waitlisted: ["चयनित — प्रतीक्षा सूची में",
          "आप साक्षात्कार में सफल रहे, पर अभी आपके लिए खुली सभी इकाइयाँ भरी हुई हैं।",
          "कोई स्थान खाली होने या इकाइयाँ बढ़ने पर योग्यता क्रम में आपको अपने-आप स्थान मिल जाएगा। " +
          "दोबारा आवेदन करने की ज़रूरत नहीं है।"]
      }
    }
  };

  // Which of the five steps each stage stands on, and whether the road ends there.
  var STEP = { submitted: 1, queued: 2, deferred: 2, scheduled: 3, selected: 4, rejected: 4, no_show: 4,
               placed: 5, waitlisted: 5 };
  var ENDED = { rejected: true, no_show: true };
  var UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/;

  var root = document.documentElement;
  var params = new URLSearchParams(location.search);
  var lang = (function () {
    var q = params.get("lang");
    if (q === "hi" || q === "en") return q;
    try { var s = localStorage.getItem("lang"); if (s === "hi" || s === "en") return s; } catch (e) {}
    return (navigator.language || "").toLowerCase().indexOf("hi") === 0 ? "hi" : "en";
  })();
  var shown = null;       // the last answer: {stage, level, unit_id, updated_at}
  var message = null;     // the key of the message shown, re-worded on a language switch
  var fieldErrors = {};   // input id -> message key
  var stateNames = null;  // code -> {en, hi}, fetched when a unit is shown
  var busy = false;

  function $(id) { return document.getElementById(id); }
  function t(key) { var v = I18N[lang][key]; return v === undefined ? I18N.en[key] : v; }

  function setLang(l) {
    lang = l;
    root.lang = l === "hi" ? "hi-IN" : "en-IN";
    root.setAttribute("data-lang", l);
    document.title = t("doc_title");
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
    document.querySelectorAll("#lang-toggle button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-lang") === l));
    });
    try { localStorage.setItem("lang", l); } catch (e) {}
    Object.keys(fieldErrors).forEach(function (id) { showFieldError(id, fieldErrors[id]); });
    if (message) showMessage(message);
    if (shown) render(shown, false);
  }

  // ---- messages ----
  function showFieldError(inputId, key) {
    var slot = $(inputId === "phone" ? "phone-error" : "id-error");
    var input = $(inputId);
    if (key) {
      fieldErrors[inputId] = key;
      slot.textContent = t(key);
      input.setAttribute("aria-invalid", "true");
    } else {
      delete fieldErrors[inputId];
      slot.textContent = "";
      input.removeAttribute("aria-invalid");
    }
  }
  function showMessage(key) {
    message = key;
    var box = $("message");
    box.setAttribute("data-kind", key || "");
    box.textContent = key ? t(key) : "";
  }
  function announce(text) { $("live").textContent = text; }

  // ---- the answer ----
  function unitName(unitId) {
    var parts = String(unitId || "").split("/");
    var names = stateNames && stateNames[parts[0]];
    if (names) parts[0] = (lang === "hi" ? names.hi : names.en) || parts[0];
    return parts.join(" › ");
  }

  function render(status, fresh) {
    var words = I18N[lang].stages[status.stage] || I18N.en.stages[status.stage];
    var box = $("result");
    if (!words) { showMessage("unavailable"); box.hidden = true; return; }
    box.setAttribute("data-stage", status.stage);
    $("stage-title").textContent = words[0];
    $("stage-meaning").textContent = words[1];
    $("stage-next").textContent = words[2];

    var step = STEP[status.stage], ended = !!ENDED[status.stage];
    document.querySelectorAll("#steps li").forEach(function (li) {
      var n = Number(li.getAttribute("data-step"));
      var state = n < step ? "done" : n === step ? (ended ? "ended" : "now") : "todo";
      li.setAttribute("data-state", state);
      if (n === step) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
      li.querySelector(".step-state").textContent =
        state === "done" ? " " + t("step_done") : state === "now" ? " " + t("step_now") :
        state === "ended" ? " " + t("step_ended") : "";
    });

    var unit = $("stage-unit");
    if (status.stage === "placed" && status.unit_id) {
      $("unit-name").textContent = unitName(status.unit_id);
      $("unit-level").textContent = status.level ? "(" + t("level_" + status.level) + ")" : "";
      unit.hidden = false;
      if (!stateNames) loadStateNames();
    } else {
      unit.hidden = true;
    }

    var at = $("updated-at");
    at.setAttribute("datetime", status.updated_at || "");
    at.textContent = formatTime(status.updated_at);
    box.hidden = false;
    // The answer takes the focus: a screen reader reads its heading, a sighted user sees where it is.
    if (fresh) $("stage-title").focus();
  }

  function formatTime(iso) {
    var d = new Date(iso);
    if (!iso || isNaN(d)) return "—";
    try {
      return d.toLocaleString(lang === "hi" ? "hi-IN" : "en-IN", { timeZone: "Asia/Kolkata", day: "numeric",
        month: "long", year: "numeric", hour: "numeric", minute: "2-digit" }) + " IST";
    } catch (e) { return d.toISOString(); }
  }

  // The unit id starts with the state's code; the dashboard's own table has its names (no personal data).
  function loadStateNames() {
    fetch("/v1/stats/states", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        stateNames = {};
        (Array.isArray(rows) ? rows : []).forEach(function (r) { stateNames[r.state] = { en: r.name, hi: r.name_hi }; });
        if (shown) render(shown, false);
      })
      .catch(function () {});
  }

  // ---- the look-up ----
  function normalizedId(text) {
    var id = String(text || "").replace(/\s+/g, "").toLowerCase();
    if (!UUID.test(id)) return null;
    id = id.replace(/-/g, "");
    return [id.slice(0, 8), id.slice(8, 12), id.slice(12, 16), id.slice(16, 20), id.slice(20)].join("-");
  }

  function lookUp(ev) {
    ev.preventDefault();
    if (busy) return;
    var rawId = $("application-id").value.trim(), phone = $("phone").value.trim();
    var id = normalizedId(rawId);
    showMessage(null);
    showFieldError("application-id", rawId ? (id ? null : "bad_id") : "id_missing");
    showFieldError("phone", phone ? null : "phone_missing");
    if (!id || !phone) {
      $(!id ? "application-id" : "phone").focus();
      return;
    }
    shown = null;
    $("result").hidden = true;
    busy = true;
    var button = $("check");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    announce(t("checking"));
    fetch("/v1/applications/" + encodeURIComponent(id) + "/status?phone=" + encodeURIComponent(phone), {
      headers: { Accept: "application/json" }, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer"
    }).then(function (r) {
      if (r.ok) return r.json().then(function (status) { shown = status; announce(""); render(status, true); });
      // 404 is every kind of "no": unknown id, another phone, an erased application. One message for all.
      var key = r.status === 404 ? "not_found" : r.status === 422 ? "bad_id" : "unavailable";
      if (key === "bad_id") showFieldError("application-id", key); else showMessage(key);
      announce("");
    }).catch(function () {
      showMessage("network");
      announce("");
    }).then(function () {
      busy = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
  }

  function boot() {
    $("lang-toggle").addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-lang]");
      if (b) setLang(b.getAttribute("data-lang"));
    });
    $("lookup").addEventListener("submit", lookUp);
    // intake's confirmation links here as /status#id=<application id>: the id only, never the phone.
    var fromLink = /(?:^#|&)id=([^&]+)/.exec(location.hash);
    if (fromLink) {
      $("application-id").value = decodeURIComponent(fromLink[1]);
      history.replaceState(null, "", location.pathname + location.search);
    }
    setLang(lang);
    if (fromLink) $("phone").focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
