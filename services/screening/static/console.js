// Staff console (screening GET /console): sign-in with a staff token, the interview queue, scheduling, the rubric,
// and the admin's calendar, capacities, units, rosters and audit. A plain ES module: no build step, no CDN.
// The token lives in sessionStorage only: never in a URL, a log, or localStorage.

const $ = (id) => document.getElementById(id);
const STATES = JSON.parse($("states-data").textContent);
const STATE = Object.fromEntries(STATES.map((s) => [s.code, s]));
const TOKEN_KEY = "console.token";
const LANG_KEY = "lang";
const QUEUE_PAGE = 50;
const UNITS_PAGE = 100;
const LOOKUP_MAX = 500;
const AUDIT_PAGES = 20;

// --- words -------------------------------------------------------------------------------------------------------

const I18N = {
  en: {
    doc_title: "Staff console", title: "Staff console", skip: "Skip to main content", sign_out: "Sign out",
    shortcuts: "Shortcuts", shortcuts_help: "Keys work when you are not typing in a field.",
    nav_label: "Console sections", nav_queue: "Queue", nav_scheduled: "Scheduled", nav_decided: "My decided",
    nav_calendar: "Election calendar", nav_capacity: "Capacities", nav_units: "Units", nav_audit: "Audit trail",
    signin_title: "Sign in",
    signin_help:
      "Paste the staff token you were given. It is kept only in this browser tab and forgotten when you close the " +
      "tab or sign out.",
    token_label: "Staff token", sign_in: "Sign in",
    signed_out: "Signed out. The token is forgotten.",
    role_admin: "Admin", role_interviewer: "Interviewer", all_states: "All states", all_my_states: "All my states",
    key: "key",
    queue_title: "Interview queue", state: "State", refresh: "Refresh", wave_open: "Schedule a wave",
    waiting: "Waiting", queue_empty: "No one is waiting in these states.", load_more: "Load more",
    deferred_title: "Deferred by an election",
    deferred_help: "These wait until polling in their state ends; they cannot be scheduled or scored before.",
    wave_title: "Schedule a wave (times in IST)",
    wave_help: "Books the oldest queued cases of a state into the day's slots, the interviewers in turn.",
    date: "Date", start_time: "Start (IST)", end_time: "End (IST)", slot_minutes: "Slot (minutes)",
    interviewers: "Interviewers (one name per line)", wave_send: "Book the wave", cancel: "Cancel",
    wave_saved: (p) => `Saved: ${p.scheduled} of ${p.capacity} slots booked in ${p.state} on ${p.date}.`,
    scheduled_title: "Scheduled interviews",
    scheduled_help:
      "Interviews booked in your states, from any device, soonest first. Record the result or a no-show when the " +
      "interview is over.",
    open_case_label: "Open a case by application id", open: "Open",
    scheduled_empty: "No scheduled interviews match.", day: "Day (IST)", interviewer: "Interviewer",
    close: "Close", schedule_title: "Schedule the interview", interview_at: "Date and time (IST)",
    interviewer_opt: "Interviewer (optional)", schedule_send: "Schedule", rebook_send: "Re-book",
    rubric_title: "Interview result", rubric_legend: "Score each criterion from 0 to 10",
    result_send: "Send result", no_show_send: "Mark no-show", sending: "Sending…",
    score_line: (p) =>
      `Score ${p.score} / 100 — ${p.selected ? "selected" : "not selected"} (selection at ${p.threshold} or more)`,
    score_partial: (p) =>
      `Score appears when all ${p.total} criteria have a whole number from 0 to 10 (${p.done} of ${p.total} done).`,
    schedule_saved: (p) => `Saved: ${p.name}'s interview is booked for ${p.at}.`,
    result_saved: (p) => `Saved: ${p.name} — ${p.outcome}${p.score == null ? "" : `, score ${p.score}`}.`,
    noshow_confirm: (p) => `Record that ${p.name} did not come to the interview? This cannot be undone.`,
    case_decided: (p) => `Decided: ${p.outcome}${p.score == null ? "" : `, score ${p.score}`}.`,
    case_deferred_note: "Deferred: this case cannot be scheduled or scored until polling ends.",
    reason_polling: (p) => `polling in ${p.state} ends ${p.date}`,
    f_phone: "Phone", f_email: "E-mail", f_place: "Place", f_status: "Status", f_submitted: "Applied",
    f_interview: "Interview", f_reason: "Why deferred", f_id: "Application id",
    decided_title: "My decided cases", decided_empty: "You have not decided any case yet.",
    col_name: "Name", col_district: "District", col_block: "Block", col_outcome: "Outcome", col_score: "Score",
    col_decided_at: "Decided", col_phone: "Phone", col_email: "E-mail", col_rank: "Rank", col_unit: "Unit",
    col_filled: "Filled", col_fill: "Fill", col_when: "When", col_service: "Service", col_action: "Action",
    col_target: "Target", col_actor: "Who", col_change: "Change", col_deferring: "Deferring today",
    calendar_title: "Election calendar",
    calendar_help: "A state's waiting cases are deferred through its last polling day and released after it.",
    today_india: "Today in India:", calendar_set_title: "Set a state's last polling day",
    polling_ends: "Last polling day", set: "Set", clear: "Clear", actions: "Actions",
    calendar_empty: "No elections on the calendar.", yes: "Yes", no: "No",
    calendar_saved: (p) => `Saved: polling in ${p.state} ends ${p.date}; ${p.changed} waiting cases changed.`,
    calendar_cleared: (p) => `Saved: ${p.state} cleared from the calendar.`,
    capacity_title: "Capacities", levels_title: "Seats per unit, by level",
    levels_help: "Every unit of a level has this many seats unless it has its own. Saving re-places every state.",
    level_state: "State unit", level_district: "District unit", level_block: "Block unit", level: "Level",
    all_levels: "All levels", save: "Save", override_title: "One unit's own capacity",
    unit_id: "Unit (e.g. RJ/Jaipur/Sanganer)", seats: "Seats", overrides_title: "Units with their own capacity",
    overrides_empty: "No unit has its own capacity.",
    capacity_saved: (p) => `Saved: capacities changed; ${p.changed} placements moved.`,
    unit_saved: (p) => `Saved: ${p.unit} now has ${p.capacity} seats; ${p.changed} placements moved.`,
    unit_cleared: (p) =>
      `Saved: ${p.unit} is back to the level default (${p.capacity} seats); ${p.changed} placements moved.`,
    units_title: "Units and their fill", show: "Show", show_more: "Show more",
    units_empty: "No units yet: a unit exists once someone is selected there.",
    units_summary: (p) => `${p.units} units; ${p.filled} of ${p.capacity} seats filled.`,
    roster_title: "Roster", back_units: "All units", download_csv: "Download CSV",
    roster_cap_title: "This unit's capacity", unit_seats: "Seats in this unit", back_default: "Back to level default",
    roster_empty: "No one is placed in this unit.",
    roster_summary: (p) => `${p.members} placed of ${p.capacity} seats (${p.level}).`,
    erased_person: "(no longer available)",
    audit_title: "Audit trail", since: "Since (IST)", audit_empty: "Nothing recorded in this window.",
    audit_summary: (p) => `${p.count} entries, newest first.`,
    audit_capped: (p) =>
      `Only the first ${p.count} entries after that time were read: choose a later time to see the newest.`,
    audit_partial: (p) => `The entries of ${p.services} could not be read; those of the other services are shown.`,
    admin_only_title: "For admins only", admin_only: "This part of the console needs an admin token.",
    footer: "Times are India Standard Time. Contact details are for onboarding only.",
    retry: "Try again", choose: "— choose —",
    // statuses and outcomes
    s_queued: "Waiting", s_deferred: "Deferred", s_scheduled: "Scheduled", s_selected: "Selected",
    s_rejected: "Not selected", s_no_show: "No-show", s_erased: "Erased", s_unknown: "Unknown",
    // actions of the audit trail
    a_interview_scheduled: "Interview scheduled", a_interview_result: "Result recorded",
    a_wave_scheduled: "Wave booked",
    a_calendar_set: "Polling day set", a_calendar_cleared: "Polling day cleared",
    a_capacity_changed: "Capacities changed",
    "a_unit-capacity_set": "Unit capacity set", "a_unit-capacity_cleared": "Unit capacity cleared",
    a_application_erased: "Application erased", applicant: "Applicant",
    // what went wrong
    err_token: "That token was not accepted. Check that you copied all of it, and try again.",
    err_token_empty: "Enter your staff token.",
    err_expired: "Your sign-in is no longer accepted (the token was changed or withdrawn). Please sign in again.",
    err_network: "Could not reach the server. Nothing you entered is lost; check the connection and try again.",
    err_scope: (p) => `Your token does not cover ${p.state}. You can see and change only: ${p.states}.`,
    err_admin: "This needs an admin token.",
    err_notfound: (p) => `Not found${p.detail ? `: ${p.detail}` : "."}`,
    err_conflict: (p) => `Not possible now: ${p.detail}. Someone may have changed it meanwhile; refresh the list.`,
    err_invalid: "Please correct this:",
    err_server: (p) => `The server could not do this (HTTP ${p.status}). Nothing you entered is lost; try again.`,
    err_config: "Could not load the console's settings from the server.",
    err_rubric: "Each criterion needs a whole number from 0 to 10.",
    err_rubric_field: "A whole number from 0 to 10.",
    err_when: "Choose the date and time of the interview.",
    err_required: (p) => `${p.field}: required.`,
    err_number: (p) => `${p.field}: a whole number from ${p.min} to ${p.max}.`,
    err_end_before_start: "The end time must be after the start time.",
    err_bad_id: "That is not an application id (it looks like 8-4-4-4-12 letters and digits).",
    err_not_visible: "No case with that id in your states.",
    c_decided: "this case is already decided", c_deferred: "this case is deferred until polling ends",
    c_noshow: "a no-show needs a scheduled interview",
    k_next: "Next case", k_prev: "Previous case", k_open: "Open the case", k_schedule: "Schedule the case",
    k_result: "Record the result", k_wave: "Schedule a wave", k_filter: "State filter", k_help: "These shortcuts",
    k_close: "Close the case or this help", k_views: "Go to a section (in the order of the menu)",
    toggle: "हिन्दी", toggle_lang: "hi",
  },
  hi: {
    doc_title: "स्टाफ़ कंसोल", title: "स्टाफ़ कंसोल", skip: "मुख्य सामग्री पर जाएँ", sign_out: "साइन आउट",
    shortcuts: "शॉर्टकट", shortcuts_help: "जब आप किसी खाने में टाइप नहीं कर रहे हों, तब ये कुंजियाँ काम करती हैं।",
    nav_label: "कंसोल के भाग", nav_queue: "कतार", nav_scheduled: "तय साक्षात्कार", nav_decided: "मेरे निर्णय",
    nav_calendar: "चुनाव कैलेंडर", nav_capacity: "क्षमता", nav_units: "इकाइयाँ", nav_audit: "ऑडिट रिकॉर्ड",
    signin_title: "साइन इन",
    signin_help:
      "आपको दिया गया स्टाफ़ टोकन चिपकाएँ। यह केवल इसी ब्राउज़र टैब में रहता है और टैब बंद करने या साइन आउट करने पर " +
      "भुला दिया जाता है।",
    token_label: "स्टाफ़ टोकन", sign_in: "साइन इन करें",
    signed_out: "साइन आउट हो गया। टोकन भुला दिया गया।",
    role_admin: "एडमिन", role_interviewer: "साक्षात्कारकर्ता", all_states: "सभी राज्य", all_my_states: "मेरे सभी राज्य",
    key: "कुंजी",
    queue_title: "साक्षात्कार कतार", state: "राज्य", refresh: "ताज़ा करें", wave_open: "एक साथ कई साक्षात्कार तय करें",
    waiting: "प्रतीक्षा में", queue_empty: "इन राज्यों में कोई प्रतीक्षा में नहीं है।", load_more: "और दिखाएँ",
    deferred_title: "चुनाव के कारण स्थगित",
    deferred_help: "ये अपने राज्य में मतदान खत्म होने तक रुके हैं; तब तक न साक्षात्कार तय होगा, न अंक दिए जा सकेंगे।",
    wave_title: "एक साथ कई साक्षात्कार (समय IST में)",
    wave_help: "राज्य के सबसे पुराने प्रतीक्षारत मामलों को दिन के स्लॉट में तय करता है, साक्षात्कारकर्ता बारी-बारी से।",
    date: "तारीख", start_time: "शुरुआत (IST)", end_time: "समाप्ति (IST)", slot_minutes: "स्लॉट (मिनट)",
    interviewers: "साक्षात्कारकर्ता (हर पंक्ति में एक नाम)", wave_send: "साक्षात्कार तय करें", cancel: "रद्द करें",
    wave_saved: (p) => `सहेजा गया: ${p.state} में ${p.date} को ${p.capacity} में से ${p.scheduled} स्लॉट तय।`,
    scheduled_title: "तय साक्षात्कार",
    scheduled_help:
      "आपके राज्यों में तय साक्षात्कार, किसी भी डिवाइस से तय किए गए, सबसे पहले वाले ऊपर। साक्षात्कार के बाद " +
      "परिणाम या अनुपस्थिति दर्ज करें।",
    open_case_label: "आवेदन संख्या से मामला खोलें", open: "खोलें",
    scheduled_empty: "ऐसा कोई तय साक्षात्कार नहीं मिला।", day: "दिन (IST)", interviewer: "साक्षात्कारकर्ता",
    close: "बंद करें", schedule_title: "साक्षात्कार तय करें", interview_at: "तारीख और समय (IST)",
    interviewer_opt: "साक्षात्कारकर्ता (वैकल्पिक)", schedule_send: "तय करें", rebook_send: "फिर से तय करें",
    rubric_title: "साक्षात्कार का परिणाम", rubric_legend: "हर मानदंड को 0 से 10 तक अंक दें",
    result_send: "परिणाम भेजें", no_show_send: "अनुपस्थित दर्ज करें", sending: "भेजा जा रहा है…",
    score_line: (p) => `अंक ${p.score} / 100 — ${p.selected ? "चयनित" : "चयनित नहीं"} (चयन ${p.threshold} या अधिक पर)`,
    score_partial: (p) =>
      `सभी ${p.total} मानदंडों में 0 से 10 का पूर्ण अंक भरने पर अंक दिखेंगे (${p.total} में से ${p.done} भरे)।`,
    schedule_saved: (p) => `सहेजा गया: ${p.name} का साक्षात्कार ${p.at} पर तय।`,
    result_saved: (p) => `सहेजा गया: ${p.name} — ${p.outcome}${p.score == null ? "" : `, अंक ${p.score}`}।`,
    noshow_confirm: (p) => `क्या ${p.name} साक्षात्कार में नहीं आए? यह बदला नहीं जा सकेगा।`,
    case_decided: (p) => `निर्णय: ${p.outcome}${p.score == null ? "" : `, अंक ${p.score}`}।`,
    case_deferred_note: "स्थगित: मतदान खत्म होने तक इस मामले का साक्षात्कार तय नहीं हो सकता।",
    reason_polling: (p) => `${p.state} में मतदान ${p.date} को खत्म होगा`,
    f_phone: "फ़ोन", f_email: "ई-मेल", f_place: "स्थान", f_status: "स्थिति", f_submitted: "आवेदन",
    f_interview: "साक्षात्कार", f_reason: "स्थगन का कारण", f_id: "आवेदन संख्या",
    decided_title: "मेरे निर्णय", decided_empty: "आपने अभी तक कोई निर्णय नहीं लिया है।",
    col_name: "नाम", col_district: "ज़िला", col_block: "ब्लॉक", col_outcome: "परिणाम", col_score: "अंक",
    col_decided_at: "निर्णय", col_phone: "फ़ोन", col_email: "ई-मेल", col_rank: "क्रम", col_unit: "इकाई",
    col_filled: "भरी", col_fill: "भराव", col_when: "कब", col_service: "सेवा", col_action: "कार्य",
    col_target: "किस पर", col_actor: "किसने", col_change: "बदलाव", col_deferring: "आज स्थगित",
    calendar_title: "चुनाव कैलेंडर",
    calendar_help:
      "किसी राज्य के प्रतीक्षारत मामले उसके अंतिम मतदान दिवस तक स्थगित रहते हैं और उसके बाद फिर कतार में आते हैं।",
    today_india: "भारत में आज:", calendar_set_title: "राज्य का अंतिम मतदान दिवस तय करें",
    polling_ends: "अंतिम मतदान दिवस", set: "तय करें", clear: "हटाएँ", actions: "कार्य",
    calendar_empty: "कैलेंडर में कोई चुनाव नहीं।", yes: "हाँ", no: "नहीं",
    calendar_saved: (p) => `सहेजा गया: ${p.state} में मतदान ${p.date} को खत्म; ${p.changed} प्रतीक्षारत मामले बदले।`,
    calendar_cleared: (p) => `सहेजा गया: ${p.state} कैलेंडर से हटाया गया।`,
    capacity_title: "क्षमता", levels_title: "हर स्तर पर प्रति इकाई सीटें",
    levels_help:
      "किसी स्तर की हर इकाई में इतनी सीटें होती हैं, जब तक उसकी अपनी क्षमता न हो। सहेजने पर हर राज्य में " +
      "नियुक्तियाँ फिर से होती हैं।",
    level_state: "राज्य इकाई", level_district: "ज़िला इकाई", level_block: "ब्लॉक इकाई", level: "स्तर",
    all_levels: "सभी स्तर", save: "सहेजें", override_title: "किसी एक इकाई की अपनी क्षमता",
    unit_id: "इकाई (जैसे RJ/Jaipur/Sanganer)", seats: "सीटें", overrides_title: "अपनी क्षमता वाली इकाइयाँ",
    overrides_empty: "किसी इकाई की अपनी क्षमता नहीं है।",
    capacity_saved: (p) => `सहेजा गया: क्षमता बदली; ${p.changed} नियुक्तियाँ बदलीं।`,
    unit_saved: (p) => `सहेजा गया: ${p.unit} में अब ${p.capacity} सीटें; ${p.changed} नियुक्तियाँ बदलीं।`,
    unit_cleared: (p) =>
      `सहेजा गया: ${p.unit} फिर स्तर की सामान्य क्षमता पर (${p.capacity} सीटें); ${p.changed} नियुक्तियाँ बदलीं।`,
    units_title: "इकाइयाँ और उनका भराव", show: "दिखाएँ", show_more: "और दिखाएँ",
    units_empty: "अभी कोई इकाई नहीं: किसी के चयन पर ही इकाई बनती है।",
    units_summary: (p) => `${p.units} इकाइयाँ; ${p.capacity} में से ${p.filled} सीटें भरी।`,
    roster_title: "सूची", back_units: "सभी इकाइयाँ", download_csv: "CSV डाउनलोड करें",
    roster_cap_title: "इस इकाई की क्षमता", unit_seats: "इस इकाई में सीटें",
    back_default: "स्तर की सामान्य क्षमता पर लौटें",
    roster_empty: "इस इकाई में कोई नियुक्त नहीं है।",
    roster_summary: (p) => `${p.capacity} सीटों में ${p.members} नियुक्त (${p.level})।`,
    erased_person: "(अब उपलब्ध नहीं)",
    audit_title: "ऑडिट रिकॉर्ड", since: "कब से (IST)", audit_empty: "इस अवधि में कुछ दर्ज नहीं हुआ।",
    audit_summary: (p) => `${p.count} प्रविष्टियाँ, सबसे नई ऊपर।`,
    audit_capped: (p) =>
      `उस समय के बाद की केवल पहली ${p.count} प्रविष्टियाँ पढ़ी गईं: सबसे नई देखने के लिए बाद का समय चुनें।`,
    audit_partial: (p) => `${p.services} की प्रविष्टियाँ नहीं पढ़ी जा सकीं; बाकी सेवाओं की दिखाई गई हैं।`,
    admin_only_title: "केवल एडमिन के लिए", admin_only: "कंसोल के इस भाग के लिए एडमिन टोकन चाहिए।",
    footer: "समय भारतीय मानक समय (IST) में है। संपर्क विवरण केवल नियुक्ति प्रक्रिया के लिए हैं।",
    retry: "फिर से कोशिश करें", choose: "— चुनें —",
    s_queued: "प्रतीक्षा में", s_deferred: "स्थगित", s_scheduled: "साक्षात्कार तय", s_selected: "चयनित",
    s_rejected: "चयनित नहीं", s_no_show: "अनुपस्थित", s_erased: "मिटाया गया", s_unknown: "अज्ञात",
    a_interview_scheduled: "साक्षात्कार तय", a_interview_result: "परिणाम दर्ज", a_wave_scheduled: "कई साक्षात्कार तय",
    a_calendar_set: "मतदान दिवस तय", a_calendar_cleared: "मतदान दिवस हटाया", a_capacity_changed: "क्षमता बदली",
    "a_unit-capacity_set": "इकाई की क्षमता तय", "a_unit-capacity_cleared": "इकाई की क्षमता हटाई",
    a_application_erased: "आवेदन मिटाया", applicant: "आवेदक",
    err_token: "यह टोकन स्वीकार नहीं हुआ। जाँचें कि पूरा टोकन कॉपी हुआ है, और फिर से कोशिश करें।",
    err_token_empty: "अपना स्टाफ़ टोकन भरें।",
    err_expired: "आपका साइन इन अब स्वीकार नहीं है (टोकन बदला या वापस लिया गया)। कृपया फिर से साइन इन करें।",
    err_network: "सर्वर तक नहीं पहुँच सके। आपका भरा हुआ सुरक्षित है; कनेक्शन जाँचकर फिर से कोशिश करें।",
    err_scope: (p) => `आपका टोकन ${p.state} के लिए नहीं है। आप केवल इन्हें देख और बदल सकते हैं: ${p.states}।`,
    err_admin: "इसके लिए एडमिन टोकन चाहिए।",
    err_notfound: (p) => `नहीं मिला${p.detail ? `: ${p.detail}` : "।"}`,
    err_conflict: (p) => `अभी संभव नहीं: ${p.detail}। हो सकता है किसी और ने इसे बदल दिया हो; सूची ताज़ा करें।`,
    err_invalid: "कृपया इसे ठीक करें:",
    err_server: (p) => `सर्वर यह नहीं कर सका (HTTP ${p.status})। आपका भरा हुआ सुरक्षित है; फिर से कोशिश करें।`,
    err_config: "सर्वर से कंसोल की सेटिंग नहीं मिल सकीं।",
    err_rubric: "हर मानदंड में 0 से 10 तक का पूर्ण अंक चाहिए।",
    err_rubric_field: "0 से 10 तक का पूर्ण अंक।",
    err_when: "साक्षात्कार की तारीख और समय चुनें।",
    err_required: (p) => `${p.field}: ज़रूरी है।`,
    err_number: (p) => `${p.field}: ${p.min} से ${p.max} तक का पूर्ण अंक।`,
    err_end_before_start: "समाप्ति का समय शुरुआत के बाद होना चाहिए।",
    err_bad_id: "यह आवेदन संख्या नहीं है (यह 8-4-4-4-12 अक्षरों और अंकों जैसी दिखती है)।",
    err_not_visible: "आपके राज्यों में इस संख्या का कोई मामला नहीं।",
    c_decided: "इस मामले का निर्णय हो चुका है", c_deferred: "यह मामला मतदान खत्म होने तक स्थगित है",
    c_noshow: "अनुपस्थिति केवल तय साक्षात्कार पर दर्ज होती है",
    k_next: "अगला मामला", k_prev: "पिछला मामला", k_open: "मामला खोलें", k_schedule: "साक्षात्कार तय करें",
    k_result: "परिणाम दर्ज करें", k_wave: "कई साक्षात्कार एक साथ", k_filter: "राज्य चुनें", k_help: "ये शॉर्टकट",
    k_close: "मामला या यह सहायता बंद करें", k_views: "किसी भाग पर जाएँ (मेनू के क्रम में)",
    toggle: "English", toggle_lang: "en",
  },
};

const RUBRIC_WORDS = {
  communication: { en: "Communication", hi: "संवाद कौशल" },
  content_creation: { en: "Content creation", hi: "सामग्री निर्माण" },
  social_media_reach: { en: "Social media reach", hi: "सोशल मीडिया पहुँच" },
  political_awareness: { en: "Political awareness", hi: "राजनीतिक जागरूकता" },
  commitment: { en: "Commitment", hi: "प्रतिबद्धता" },
};

// The names of request fields in 422 answers, as a person would call them.
const FIELD_WORDS = {
  interview_at: "interview_at", interviewer: "interviewer_opt", state: "state", date: "date", start: "start_time",
  end: "end_time", slot_minutes: "slot_minutes", interviewers: "interviewers", polling_ends: "polling_ends",
  capacity: "seats", unit_id: "col_unit", since: "since", application_id: "f_id", application_ids: "f_id",
  day: "day",
};

let lang = (() => {
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === "hi" || saved === "en") return saved;
  } catch { /* storage may be off: the browser's language decides */ }
  return (navigator.language || "").toLowerCase().startsWith("hi") ? "hi" : "en";
})();

function word(key, params, language = lang) {
  const entry = I18N[language][key] ?? I18N.en[key];
  if (entry === undefined) return key;
  return typeof entry === "function" ? entry(params || {}) : entry;
}
const t = (key, params) => word(key, params);
const other = () => (lang === "hi" ? "en" : "hi");

function stateName(code, language = lang) {
  const s = STATE[code];
  return s ? `${s[language]} (${code})` : code;
}
function rubricName(item, language = lang) {
  return (RUBRIC_WORDS[item] && RUBRIC_WORDS[item][language]) || item.replace(/_/g, " ");
}
function statusWord(status, language = lang) {
  const found = word(`s_${status}`, null, language);
  return found === `s_${status}` ? status : found;
}

const locale = (language = lang) => (language === "hi" ? "hi-IN" : "en-IN");
function when(iso, withYear = false, language = lang) {
  if (!iso) return "—";
  const options = { timeZone: "Asia/Kolkata", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  if (withYear) options.year = "numeric";
  return new Intl.DateTimeFormat(locale(language), options).format(new Date(iso));
}
function day(isoDate, language = lang) {
  if (!isoDate) return "—";
  return new Intl.DateTimeFormat(locale(language), { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" })
    .format(new Date(`${isoDate}T00:00:00Z`));
}
const num = (n) => new Intl.NumberFormat("en-IN").format(n);

// India has one time zone and no daylight saving: IST is UTC+05:30 all year.
const IST_MS = 330 * 60 * 1000;
function istParts(date = new Date()) {
  const d = new Date(date.getTime() + IST_MS);
  const pad = (n) => String(n).padStart(2, "0");
  return { date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` };
}
function nextHalfHour() {
  const step = 30 * 60 * 1000;
  const at = new Date(Math.ceil((Date.now() + 60 * 60 * 1000) / step) * step);
  const p = istParts(at);
  return `${p.date}T${p.time}`;
}
// A datetime-local value read as India's wall clock.
const istInstant = (local) => `${local.length === 16 ? `${local}:00` : local}+05:30`;

// --- small DOM helpers ---------------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}
const srOnly = (text) => el("span", { class: "sr-only", text });

function applyWords() {
  document.documentElement.lang = lang === "hi" ? "hi-IN" : "en-IN";
  document.title = `${t("doc_title")} · ${word("doc_title", null, other())}`;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAria));
  }
  const toggle = $("lang-toggle");
  toggle.textContent = t("toggle");
  toggle.lang = t("toggle_lang");
  // The visible word first in the name (WCAG 2.5.3), then what the button does in both languages.
  toggle.setAttribute("aria-label", `${t("toggle")} — भाषा बदलें / Switch language`);
}

// Both languages, the page's first: a message about a token or a refusal must reach whoever is at the screen.
function bothLanguages(key, params) {
  return [lang, other()].map((language) => el("p", { lang: language === "hi" ? "hi" : "en", class: "msg" },
    word(key, params, language)));
}

let sayTimer = null;
function say(text) {
  // Polite status ("saved"): rewritten so that the same words twice are announced twice; it clears itself
  // after a while, as what was saved also shows where it happened (the case's badge, its panel).
  const box = $("status");
  box.textContent = "";
  clearTimeout(sayTimer);
  requestAnimationFrame(() => {
    box.textContent = text;
    sayTimer = setTimeout(() => { box.textContent = ""; }, 8000);
  });
}
// params: the message's values, or a function of the language giving them (names of states, dates, outcomes).
function sayBoth(key, params) {
  const of = (language) => (typeof params === "function" ? params(language) : params);
  say(`✓ ${word(key, of(lang), lang)} · ${word(key, of(other()), other())}`);
}

// --- the API -------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail, url) {
    super(`HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.url = url;
  }
}

let token = null;
let me = null;
let config = null;

// Where another service's API is (GET /console/config); screening's own is this page's origin.
function serviceBase(service) {
  if (service === "screening") return "";
  return (config && config[`${service}_url`] ? config[`${service}_url`] : "").replace(/\/+$/, "");
}

async function api(service, path, { method = "GET", body } = {}) {
  const url = serviceBase(service) + path;
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit" });
  } catch {
    throw new ApiError(0, null, url);
  }
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = null; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data && data.detail, url);
    if (response.status === 401 && me) expire();
    throw error;
  }
  return data;
}

const unitPath = (unitId) => unitId.split("/").map(encodeURIComponent).join("/");

// What went wrong, in both languages, as nodes: a sentence per language and, for a 422, one line per field.
function explain(error) {
  if (!(error instanceof ApiError)) return bothLanguages("err_server", { status: "?" });
  const detail = typeof error.detail === "string" ? error.detail : "";
  switch (error.status) {
    case 0: return bothLanguages("err_network");
    case 401: return bothLanguages("err_expired");
    case 403: {
      const scope = /does not cover (\S+)/.exec(detail);
      if (scope) {
        const mine = (me && me.states) ? me.states.join(", ") : word("all_states");
        return [lang, other()].map((language) => el("p", { lang: language, class: "msg" },
          word("err_scope", { state: stateName(scope[1], language), states: mine }, language)));
      }
      return bothLanguages("err_admin");
    }
    case 404: return bothLanguages("err_notfound", { detail });
    case 409: return [lang, other()].map((language) => el("p", { lang: language, class: "msg" },
      word("err_conflict", { detail: conflictWords(detail, language) }, language)));
    case 422: {
      const items = Array.isArray(error.detail) ? error.detail : [{ field: "", message: detail }];
      return [
        ...bothLanguages("err_invalid"),
        el("ul", { class: "field-errors" }, items.map((item) => el("li", {},
          el("strong", {}, fieldName(item.field)), " ", item.message))),
      ];
    }
    default: return bothLanguages("err_server", { status: error.status });
  }
}

// Screening's reason for a deferral ("polling in RJ ends 2026-12-10") in the page's language; any other as it is.
function reasonWords(reason, language = lang) {
  const polling = /^polling in ([A-Z]{2}) ends (\d{4}-\d{2}-\d{2})$/.exec(reason || "");
  if (!polling) return reason;
  return word("reason_polling", { state: stateName(polling[1], language), date: day(polling[2], language) }, language);
}

function conflictWords(detail, language) {
  if (/already decided/.test(detail)) return word("c_decided", null, language);
  if (/deferred/.test(detail)) return word("c_deferred", null, language);
  if (/no-show needs/.test(detail)) return word("c_noshow", null, language);
  return detail;
}

function fieldName(field) {
  if (!field) return "";
  const [head, tail] = field.split(".");
  let en, hi;
  if (head === "scores" && tail) {
    en = rubricName(tail, "en");
    hi = rubricName(tail, "hi");
  } else if (FIELD_WORDS[head]) {
    en = word(FIELD_WORDS[head], null, "en");
    hi = word(FIELD_WORDS[head], null, "hi");
  } else {
    return `${field}:`;
  }
  return lang === "hi" ? `${hi} / ${en}:` : `${en} / ${hi}:`;
}

// A form's error box: what failed, and a button that sends the same thing again (the form keeps its values).
function showError(boxId, error, retry) {
  const box = $(boxId);
  box.replaceChildren(...(Array.isArray(error) ? error : explain(error)));
  if (retry && !(error instanceof ApiError && [401, 403, 409].includes(error.status))) {
    box.append(el("button", { type: "button", class: "btn small", onclick: () => retry() }, t("retry")));
  }
  box.classList.add("show");
}
function clearError(boxId) {
  const box = $(boxId);
  box.replaceChildren();
  box.classList.remove("show");
}
function pageError(error) {
  // Refusals of a whole view (a list that could not load) go to the page's alert region.
  const box = $("alert");
  box.replaceChildren(...(error instanceof ApiError || !Array.isArray(error) ? explain(error) : error));
  box.classList.add("show");
}
function clearPageError() {
  $("alert").replaceChildren();
  $("alert").classList.remove("show");
}

// Disable a form while it sends; its values stay as they are whatever the answer.
async function sending(form, button, work) {
  const label = button.textContent;
  form.setAttribute("aria-busy", "true");
  button.disabled = true;
  button.textContent = t("sending");
  try {
    return await work();
  } finally {
    form.removeAttribute("aria-busy");
    button.disabled = false;
    button.textContent = label;
  }
}

// --- sign-in -------------------------------------------------------------------------------------------------------

function readToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

async function signIn(candidate, { quiet = false } = {}) {
  token = candidate;
  try {
    me = await api("screening", "/v1/me");
  } catch (error) {
    token = null;
    me = null;
    try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* nothing kept */ }
    // A token kept from before that stopped working is "expired"; one just typed is "not accepted".
    showError("signin-error", error.status === 401 ? bothLanguages(quiet ? "err_expired" : "err_token") : error);
    return false;
  }
  try {
    config = await api("screening", "/console/config");
  } catch (error) {
    showError("signin-error", [...bothLanguages("err_config"), ...explain(error)]);
    token = null;
    me = null;
    return false;
  }
  try { sessionStorage.setItem(TOKEN_KEY, candidate); } catch { /* this tab only, then */ }
  clearError("signin-error");
  $("token").value = "";
  enterConsole();
  return true;
}

function expire() {
  // The token stopped working (withdrawn, rotated): back to sign-in, with the reason.
  leaveConsole();
  showError("signin-error", bothLanguages("err_expired"));
}

function signOut() {
  leaveConsole();
  // Unsent scores belong to this person's session; the next one at this browser starts clean.
  try { sessionStorage.removeItem(DRAFTS_KEY); } catch { /* nothing kept */ }
  // The next person starts from the queue, not from wherever this one was.
  history.replaceState(null, "", location.pathname);
  sayBoth("signed_out");
  $("token").focus();
}

function leaveConsole() {
  token = null;
  me = null;
  config = null;
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* nothing kept */ }
  // Names and phones leave the page with the token.
  for (const id of ["queue-list", "deferred-list", "scheduled-list", "decided-body", "calendar-body", "overrides-body",
    "units-body", "roster-body", "audit-body", "case-facts", "rubric-items", "queue-state", "wave-state",
    "scheduled-state", "units-state", "calendar-state"]) {
    $(id).replaceChildren();
  }
  // What this person typed or chose is not the next one's starting point.
  for (const form of document.querySelectorAll("main form")) form.reset();
  $("wave-form").hidden = true;
  $("wave-open").setAttribute("aria-expanded", "false");
  Object.assign(cache, freshCache());
  closeCase();
  clearPageError();
  document.body.classList.remove("signed-in", "is-admin");
  $("who").hidden = true;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("help-open").hidden = true;
  showView("signin");
}

function enterConsole() {
  forgetOldBookings();
  document.body.classList.add("signed-in");
  document.body.classList.toggle("is-admin", me.role === "admin");
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("help-open").hidden = false;
  buildRubric();
  fillStateSelects();
  renderWho();
  $("status").textContent = "";
  const view = parseHash().view;
  if (!view || view === "signin") location.hash = "#queue";
  else route();
  // Focus leaves the sign-in form (now hidden) for the page's main content: keys and screen readers start there.
  $("main").focus();
}

function renderWho() {
  if (!me) return;
  const states = me.states ? me.states.join(", ") : t("all_states");
  $("who").replaceChildren(
    el("span", { class: "role" }, t(me.role === "admin" ? "role_admin" : "role_interviewer")), " · ",
    el("span", { id: "who-states" }, states), " · ",
    el("span", { class: "fp", title: t("key") }, `${t("key")} #${me.fingerprint || "—"}`));
  $("who").hidden = false;
}

// The states this token may act in: an interviewer's own, or every one.
function myStates() {
  if (!me) return [];
  return me.states ? me.states.filter((code) => STATE[code]) : STATES.map((s) => s.code);
}

function fillStateSelects() {
  const mine = myStates();
  const options = (codes) => codes.map((code) => el("option", { value: code }, stateName(code)));
  const selectedOf = (id) => $(id).value;
  const keep = { queue: selectedOf("queue-state"), wave: selectedOf("wave-state"),
    scheduled: selectedOf("scheduled-state"), units: selectedOf("units-state"),
    calendar: selectedOf("calendar-state") };
  const several = mine.length > 1;
  const queueAll = several ? [el("option", { value: "" }, me.states ? t("all_my_states") : t("all_states"))] : [];
  $("queue-state").replaceChildren(...queueAll, ...options(mine));
  $("scheduled-state").replaceChildren(...queueAll.map((o) => o.cloneNode(true)), ...options(mine));
  // A wave is one state's: with several, the interviewer picks one (no silent first-in-the-list).
  $("wave-state").replaceChildren(...(several ? [el("option", { value: "" }, t("choose"))] : []), ...options(mine));
  $("units-state").replaceChildren(el("option", { value: "" }, t("all_states")), ...options(mine));
  $("calendar-state").replaceChildren(...options(STATES.map((s) => s.code)));
  for (const [name, id] of [["queue", "queue-state"], ["wave", "wave-state"], ["scheduled", "scheduled-state"],
    ["units", "units-state"], ["calendar", "calendar-state"]]) {
    if (keep[name] && [...$(id).options].some((o) => o.value === keep[name])) $(id).value = keep[name];
  }
}

// --- routing -------------------------------------------------------------------------------------------------------

const VIEWS = ["signin", "queue", "scheduled", "decided", "calendar", "capacity", "units", "roster", "audit",
  "forbidden"];
const ADMIN_VIEWS = new Set(["calendar", "capacity", "units", "roster", "audit"]);
let currentView = null;

function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#/, ""));
  const [view, ...rest] = raw.split("/");
  return { view: view || null, arg: rest.join("/") };
}

function showView(name) {
  currentView = name;
  for (const view of VIEWS) $(`view-${view}`).hidden = view !== name;
  for (const link of document.querySelectorAll("#nav a")) {
    const active = link.dataset.view === name || (name === "roster" && link.dataset.view === "units");
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (!me) {
    showView("signin");
    return;
  }
  clearPageError();
  const { view, arg } = parseHash();
  const name = VIEWS.includes(view) && view !== "signin" ? view : "queue";
  if (ADMIN_VIEWS.has(name) && me.role !== "admin") {
    showView("forbidden");
    return;
  }
  if (name !== currentView) {
    // Another list, another selection: an open case belongs to the list it was opened from.
    closeCase();
    selectedIndex = -1;
  }
  showView(name);
  const loaders = { queue: () => loadQueue(arg), scheduled: () => loadScheduled(false),
    decided: () => loadDecided(false), calendar: loadCalendar, capacity: loadCapacity, units: () => loadUnits(arg),
    roster: () => loadRoster(arg), audit: loadAudit, forbidden: () => {} };
  await loaders[name]();
}

// --- cases: the queue, the scheduled list, the panel -----------------------------------------------------------

function freshCache() {
  return { queue: [], deferred: [], queueCursor: null, queueState: "", scheduled: [], scheduledCursor: null,
    decided: [], decidedCursor: null, calendar: null, capacity: null, units: [], unitsShown: UNITS_PAGE, roster: null,
    audit: [] };
}
const cache = freshCache();
const cases = new Map(); // application_id -> the case as this page knows it
let openId = null;
let selectedIndex = -1;

// Earlier versions of this page kept the interviews a browser booked in localStorage ("console.booked.<key>");
// the server lists them now (GET /v1/interviews), so what they left behind is dropped.
function forgetOldBookings() {
  try {
    for (const name of Object.keys(localStorage)) if (name.startsWith("console.booked.")) localStorage.removeItem(name);
  } catch { /* storage off: nothing was kept either */ }
}

async function loadQueue(arg, more = false) {
  const state = arg !== undefined && arg !== "" ? arg.toUpperCase() : $("queue-state").value;
  if (!more) {
    if (arg && [...$("queue-state").options].some((o) => o.value === state)) $("queue-state").value = state;
    cache.queue = [];
    cache.deferred = [];
    cache.queueCursor = null;
    selectedIndex = -1;
  }
  cache.queueState = state;
  const params = new URLSearchParams({ limit: String(QUEUE_PAGE) });
  if (state) params.set("state", state);
  if (more && cache.queueCursor) params.set("cursor", cache.queueCursor);
  $("queue-list").setAttribute("aria-busy", "true");
  try {
    const page = await api("screening", `/v1/queue?${params}`);
    for (const item of page.items) {
      cases.set(item.application_id, { ...(cases.get(item.application_id) || {}), ...item });
      (item.status === "deferred" ? cache.deferred : cache.queue).push(item.application_id);
    }
    cache.queueCursor = page.next_cursor;
  } catch (error) {
    pageError(error);
  } finally {
    $("queue-list").removeAttribute("aria-busy");
  }
  renderQueue();
  if (!more && openId && currentView === "queue") placePanel("queue");
}

function caseItem(id, { actions = true } = {}) {
  const c = cases.get(id);
  const status = c.status || "unknown";
  const place = [c.district, c.state].filter(Boolean).join(", ");
  const meta = [c.phone, place,
    c.interview_at ? `${t("f_interview")}: ${when(c.interview_at)}${c.interviewer ? ` (${c.interviewer})` : ""}`
      : c.submitted_at ? `${t("f_submitted")}: ${when(c.submitted_at)}` : null].filter(Boolean);
  const item = el("li", { class: `case s-${status}`, "data-id": id, "data-status": status, tabindex: "-1" },
    el("div", { class: "case-main" },
      el("span", { class: "case-name" }, c.full_name || t("erased_person")),
      el("span", { class: `badge s-${status}` }, statusWord(status))),
    el("div", { class: "case-meta" }, meta.join(" · ")),
    c.reason ? el("div", { class: "case-reason" }, `${t("f_reason")}: ${reasonWords(c.reason)}`) : null);
  if (actions && (status === "queued" || status === "scheduled")) {
    const who = srOnly(`: ${c.full_name || id}`);
    item.append(el("div", { class: "case-actions" },
      el("button", { type: "button", class: "btn small", "data-act": "schedule",
        onclick: () => openCase(id, "schedule") },
      status === "scheduled" ? t("rebook_send") : t("schedule_send"), who.cloneNode(true)),
      el("button", { type: "button", class: "btn small", "data-act": "result", onclick: () => openCase(id, "result") },
        t("rubric_title"), who)));
  }
  if (id === openId) item.setAttribute("aria-current", "true");
  item.addEventListener("click", (event) => {
    if (event.target.closest("button")) return;
    selectIndexOf(id);
    openCase(id, null);
  });
  return item;
}

function renderQueue() {
  $("queue-list").replaceChildren(...cache.queue.map((id) => caseItem(id)));
  $("deferred-list").replaceChildren(...cache.deferred.map((id) => caseItem(id, { actions: false })));
  $("queued-count").textContent = `(${num(cache.queue.length)}${cache.queueCursor ? "+" : ""})`;
  $("deferred-count").textContent = num(cache.deferred.length);
  $("queue-empty").hidden = cache.queue.length > 0;
  $("queue-more").hidden = !cache.queueCursor;
  $("deferred-box").hidden = cache.deferred.length === 0;
  markSelected();
}

async function lookup(ids) {
  const found = [];
  for (let i = 0; i < ids.length; i += LOOKUP_MAX) {
    const answer = await api("screening", "/v1/cases/lookup", { method: "POST",
      body: { application_ids: ids.slice(i, i + LOOKUP_MAX) } });
    found.push(...answer.items);
  }
  return found;
}

// The server's list (GET /v1/interviews), so every device of an interviewer shows the same interviews, soonest
// first; a page at a time, filtered by state, Indian day and interviewer as the form says.
async function loadScheduled(more) {
  if (!more) {
    cache.scheduled = [];
    cache.scheduledCursor = null;
    selectedIndex = -1;
  }
  const params = new URLSearchParams({ limit: String(QUEUE_PAGE) });
  const state = $("scheduled-state").value;
  const dayValue = $("scheduled-day").value;
  const interviewer = $("scheduled-interviewer").value.trim();
  if (state) params.set("state", state);
  if (dayValue) params.set("day", dayValue);
  if (interviewer) params.set("interviewer", interviewer);
  if (more && cache.scheduledCursor) params.set("cursor", cache.scheduledCursor);
  $("scheduled-list").setAttribute("aria-busy", "true");
  try {
    const page = await api("screening", `/v1/interviews?${params}`);
    for (const item of page.items) {
      cases.set(item.application_id, { ...(cases.get(item.application_id) || {}), ...item, status: "scheduled" });
      if (!cache.scheduled.includes(item.application_id)) cache.scheduled.push(item.application_id);
    }
    cache.scheduledCursor = page.next_cursor;
  } catch (error) {
    pageError(error);
  } finally {
    $("scheduled-list").removeAttribute("aria-busy");
  }
  renderScheduled();
  if (!more && openId && currentView === "scheduled") placePanel("scheduled");
}

function renderScheduled() {
  $("scheduled-list").replaceChildren(...cache.scheduled.map((id) => caseItem(id)));
  $("scheduled-empty").hidden = cache.scheduled.length > 0;
  $("scheduled-more").hidden = !cache.scheduledCursor;
  markSelected();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function openById(event) {
  event.preventDefault();
  const id = $("open-case-id").value.trim().toLowerCase();
  clearError("open-case-error");
  if (!UUID.test(id)) {
    $("open-case-id").setAttribute("aria-invalid", "true");
    showError("open-case-error", bothLanguages("err_bad_id"));
    return;
  }
  $("open-case-id").removeAttribute("aria-invalid");
  try {
    const [item] = await lookup([id]);
    if (!item) {
      showError("open-case-error", bothLanguages("err_not_visible"));
      return;
    }
    cases.set(id, { ...(cases.get(id) || {}), ...item });
    if (item.status === "scheduled" && !cache.scheduled.includes(id)) {
      cache.scheduled.unshift(id);
      renderScheduled();
    }
    openCase(id, item.status === "scheduled" ? "result" : null);
  } catch (error) {
    showError("open-case-error", error, () => $("open-case-form").requestSubmit());
  }
}

function currentList() {
  if (currentView === "queue") return cache.queue;
  if (currentView === "scheduled") return cache.scheduled;
  return [];
}

function markSelected() {
  for (const item of document.querySelectorAll(".cases li.case")) {
    const list = currentList();
    const selected = list[selectedIndex] === item.dataset.id;
    item.classList.toggle("selected", selected);
    if (item.dataset.id === openId) item.setAttribute("aria-current", "true");
    else item.removeAttribute("aria-current");
  }
}

function selectIndexOf(id) {
  selectedIndex = currentList().indexOf(id);
  markSelected();
}

function move(step) {
  const list = currentList();
  if (!list.length) return;
  selectedIndex = selectedIndex < 0 ? (step > 0 ? 0 : list.length - 1)
    : Math.min(list.length - 1, Math.max(0, selectedIndex + step));
  markSelected();
  const node = document.querySelector(`#view-${currentView} li.case[data-id="${list[selectedIndex]}"]`);
  if (node) {
    node.focus();
    node.scrollIntoView({ block: "nearest" });
  }
  // With a case open, moving through the list shows the next case in the panel without taking the focus.
  if (openId) openCase(list[selectedIndex], null, { focus: false });
}

function placePanel(view) {
  const slot = $(`${view}-panel-slot`);
  if ($("case-panel").parentElement !== slot) slot.append($("case-panel"));
}

function closeCase() {
  saveDraft();
  openId = null;
  $("case-panel").hidden = true;
  document.body.appendChild($("case-panel"));
  markSelected();
}

// --- the rubric ----------------------------------------------------------------------------------------------------

const DRAFTS_KEY = "console.drafts";
function drafts() {
  try { return JSON.parse(sessionStorage.getItem(DRAFTS_KEY) || "{}"); } catch { return {}; }
}
// Scores typed but not sent are kept per case in this tab: switching cases or reloading loses nothing.
function saveDraft() {
  if (!openId || !config) return;
  const values = Object.fromEntries(config.rubric.map((item) => [item, $(`rubric-${item}`)?.value ?? ""]));
  const all = drafts();
  if (Object.values(values).some((v) => v !== "")) all[openId] = values;
  else delete all[openId];
  try { sessionStorage.setItem(DRAFTS_KEY, JSON.stringify(all)); } catch { /* best effort */ }
}
function dropDraft(id) {
  const all = drafts();
  delete all[id];
  try { sessionStorage.setItem(DRAFTS_KEY, JSON.stringify(all)); } catch { /* best effort */ }
}

function buildRubric() {
  const max = config.rubric_max;
  $("rubric-items").replaceChildren(...config.rubric.map((item) => el("div", { class: "rubric-row" },
    el("label", { for: `rubric-${item}`, id: `rubric-${item}-label` }, rubricName(item)),
    el("input", { id: `rubric-${item}`, name: item, type: "number", inputmode: "numeric", min: "0", max: String(max),
      step: "1", required: true, autocomplete: "off", "aria-describedby": `rubric-${item}-error`,
      oninput: () => syncRubric(item, "number") }),
    // The slider is for touch screens; the number box before it is the one keyboards and screen readers use.
    el("input", { id: `rubric-${item}-range`, type: "range", min: "0", max: String(max), step: "1", value: "0",
      tabindex: "-1", "aria-hidden": "true", class: "untouched", oninput: () => syncRubric(item, "range") }),
    el("span", { id: `rubric-${item}-error`, class: "field-error" }))));
}

function rubricValues() {
  const values = {};
  const problems = [];
  for (const item of config.rubric) {
    const raw = $(`rubric-${item}`).value.trim();
    const n = Number(raw);
    if (raw === "") problems.push([item, "missing"]);
    else if (!/^\d+$/.test(raw) || n < 0 || n > config.rubric_max) problems.push([item, "bad"]);
    else values[item] = n;
  }
  return { values, problems };
}

function syncRubric(item, from) {
  const box = $(`rubric-${item}`);
  const range = $(`rubric-${item}-range`);
  if (from === "range") {
    box.value = range.value;
    range.classList.remove("untouched");
  } else if (/^\d+$/.test(box.value) && Number(box.value) <= config.rubric_max) {
    range.value = box.value;
    range.classList.remove("untouched");
  }
  const { problems } = rubricValues();
  const bad = problems.find(([name, kind]) => name === item && kind === "bad");
  markField(item, bad ? "err_rubric_field" : null);
  if (!problems.length) clearError("rubric-error");
  liveScore();
  saveDraft();
}

function markField(item, key) {
  const box = $(`rubric-${item}`);
  const error = $(`rubric-${item}-error`);
  if (key) {
    box.setAttribute("aria-invalid", "true");
    error.replaceChildren(el("span", { lang: lang }, word(key, null, lang)), " ",
      el("span", { lang: other() }, word(key, null, other())));
  } else {
    box.removeAttribute("aria-invalid");
    error.replaceChildren();
  }
}

// The score as the server computes it (the mean of the items, on 0-100) and the outcome at the threshold.
function liveScore() {
  const { values, problems } = rubricValues();
  const total = config.rubric.length;
  const box = $("score-box");
  if (problems.length) {
    box.dataset.outcome = "";
    box.dataset.score = "";
    $("score-out").textContent = t("score_partial", { done: total - problems.length, total });
    return null;
  }
  const sum = Object.values(values).reduce((a, b) => a + b, 0);
  const score = Math.round((sum / total) * (100 / config.rubric_max));
  const selected = score >= config.selection_threshold;
  box.dataset.outcome = selected ? "selected" : "rejected";
  box.dataset.score = String(score);
  $("score-out").textContent = t("score_line", { score, selected, threshold: config.selection_threshold });
  return { score, selected };
}

function fillRubric(id) {
  const draft = drafts()[id] || {};
  for (const item of config.rubric) {
    $(`rubric-${item}`).value = draft[item] ?? "";
    const range = $(`rubric-${item}-range`);
    range.value = /^\d+$/.test(draft[item] ?? "") ? draft[item] : "0";
    range.classList.toggle("untouched", !(item in draft) || draft[item] === "");
    markField(item, null);
  }
  liveScore();
}

// --- the case panel ------------------------------------------------------------------------------------------------

function remembered(name) {
  try { return localStorage.getItem(name) || ""; } catch { return ""; }
}

function openCase(id, focus, { focus: takeFocus = true } = {}) {
  if (!cases.has(id)) return;
  if (openId !== id) {
    saveDraft();
    openId = id;
    clearError("schedule-error");
    clearError("rubric-error");
    clearError("case-error");
    $("schedule-saved").hidden = true;
    $("schedule-at").value = nextHalfHour();
    $("case-interviewer").value = remembered("console.interviewer");
    fillRubric(id);
  }
  selectIndexOf(id);
  placePanel(currentView === "scheduled" ? "scheduled" : "queue");
  renderCase();
  $("case-panel").hidden = false;
  markSelected();
  if (!takeFocus) return;
  if (focus === "schedule" && !$("schedule-form").hidden) $("schedule-at").focus();
  else if (focus === "result" && !$("rubric-form").hidden) $(`rubric-${config.rubric[0]}`).focus();
  else $("case-name").focus();
  $("case-panel").scrollIntoView({ block: "nearest" });
}

function renderCase() {
  const c = cases.get(openId);
  if (!c) return;
  const status = c.status || "unknown";
  $("case-name").textContent = c.full_name || t("erased_person");
  const facts = [
    ["f_status", statusWord(status)],
    ["f_phone", c.phone ? el("a", { href: `tel:${c.phone}` }, c.phone) : "—"],
    c.email ? ["f_email", el("a", { href: `mailto:${c.email}` }, c.email)] : null,
    ["f_place", [c.block, c.district, c.state ? stateName(c.state) : null].filter(Boolean).join(", ")],
    c.interview_at ? ["f_interview", `${when(c.interview_at)}${c.interviewer ? ` · ${c.interviewer}` : ""}`] : null,
    c.submitted_at ? ["f_submitted", when(c.submitted_at, true)] : null,
    c.reason ? ["f_reason", reasonWords(c.reason)] : null,
    ["f_id", el("code", {}, openId)],
  ].filter(Boolean);
  $("case-facts").replaceChildren(...facts.flatMap(([key, value]) => [el("dt", {}, t(key)), el("dd", {}, value)]));
  $("case-panel").dataset.status = status;
  const waiting = status === "queued" || status === "scheduled";
  $("schedule-form").hidden = !waiting;
  $("rubric-form").hidden = !waiting;
  $("no-show").hidden = status !== "scheduled";
  $("case-interviewer").parentElement.hidden = !waiting;
  $("schedule-form").querySelector("button[type=submit]").textContent =
    status === "scheduled" ? t("rebook_send") : t("schedule_send");
  const done = $("case-done");
  const outcome = c.outcome || (["selected", "rejected", "no_show"].includes(status) ? status : null);
  if (outcome) {
    done.textContent = `✓ ${t("case_decided", { outcome: statusWord(outcome), score: c.score })}`;
    done.hidden = false;
  } else if (status === "deferred") {
    done.textContent = t("case_deferred_note");
    done.hidden = false;
  } else {
    done.hidden = true;
  }
}

async function schedule(event) {
  event.preventDefault();
  const id = openId;
  const c = cases.get(id);
  const at = $("schedule-at").value;
  const interviewer = $("case-interviewer").value.trim();
  clearError("schedule-error");
  if (!at) {
    $("schedule-at").setAttribute("aria-invalid", "true");
    showError("schedule-error", bothLanguages("err_when"));
    $("schedule-at").focus();
    return;
  }
  $("schedule-at").removeAttribute("aria-invalid");
  const button = $("schedule-form").querySelector("button[type=submit]");
  try {
    const answer = await sending($("schedule-form"), button, () => api("screening", "/v1/interviews", {
      method: "POST", body: { application_id: id, interview_at: istInstant(at), interviewer: interviewer || null } }));
    if (interviewer) try { localStorage.setItem("console.interviewer", interviewer); } catch { /* optional */ }
    Object.assign(c, { status: "scheduled", interview_at: answer.interview_at, interviewer: answer.interviewer });
    rerenderLists();
    renderCase();
    $("schedule-saved").textContent = `✓ ${when(answer.interview_at)}`;
    $("schedule-saved").hidden = false;
    sayBoth("schedule_saved", (l) => ({ name: c.full_name, at: when(answer.interview_at, false, l) }));
  } catch (error) {
    if (error.status === 409) {
      showError("case-error", error);
      refreshCase(id);
    } else {
      showError("schedule-error", error, () => $("schedule-form").requestSubmit());
    }
  }
}

async function sendResult(event) {
  event.preventDefault();
  await result(false);
}

async function result(noShow) {
  const id = openId;
  const c = cases.get(id);
  clearError("rubric-error");
  const interviewer = $("case-interviewer").value.trim();
  let body;
  if (noShow) {
    const ask = (language) => word("noshow_confirm", { name: c.full_name }, language);
    if (!window.confirm(`${ask(lang)}\n${ask(other())}`)) return;
    body = { outcome: "no_show" };
  } else {
    const { values, problems } = rubricValues();
    if (problems.length) {
      // An empty box is marked; a wrong number also says what it should be.
      for (const [item, kind] of problems) {
        markField(item, kind === "bad" ? "err_rubric_field" : null);
        $(`rubric-${item}`).setAttribute("aria-invalid", "true");
      }
      showError("rubric-error", bothLanguages("err_rubric"));
      $(`rubric-${problems[0][0]}`).focus();
      return;
    }
    body = { scores: values };
  }
  if (interviewer) body.interviewer = interviewer;
  const button = noShow ? $("no-show") : $("rubric-send");
  try {
    const answer = await sending($("rubric-form"), button, () => api("screening",
      `/v1/interviews/${encodeURIComponent(id)}/result`, { method: "POST", body }));
    if (interviewer) try { localStorage.setItem("console.interviewer", interviewer); } catch { /* optional */ }
    Object.assign(c, { status: answer.outcome, outcome: answer.outcome, score: answer.score });
    dropDraft(id);
    rerenderLists();
    renderCase();
    sayBoth("result_saved", (l) => ({ name: c.full_name, outcome: statusWord(answer.outcome, l),
      score: answer.score }));
    $("case-name").focus();
  } catch (error) {
    for (const item of Array.isArray(error.detail) ? error.detail : []) {
      const [head, tail] = String(item.field || "").split(".");
      if (head === "scores" && tail && $(`rubric-${tail}`)) markField(tail, "err_rubric_field");
    }
    if (error.status === 409) {
      showError("case-error", error);
      refreshCase(id);
    } else {
      showError("rubric-error", error, () => result(noShow));
    }
  }
}

async function refreshCase(id) {
  // After a 409 the case changed elsewhere: show what it is now.
  try {
    const [item] = await lookup([id]);
    if (item && cases.has(id)) {
      Object.assign(cases.get(id), item);
      rerenderLists();
      if (openId === id) renderCase();
    }
  } catch { /* the 409's own message is already shown */ }
}

function rerenderLists() {
  if (currentView === "queue") renderQueue();
  if (currentView === "scheduled") renderScheduled();
}

// --- a wave --------------------------------------------------------------------------------------------------------

function toggleWave(open) {
  const form = $("wave-form");
  form.hidden = open === undefined ? !form.hidden : !open;
  $("wave-open").setAttribute("aria-expanded", String(!form.hidden));
  if (!form.hidden) {
    if (!$("wave-date").value) {
      $("wave-date").value = istParts(new Date(Date.now() + 24 * 3600 * 1000)).date;
    }
    if (!$("wave-interviewers").value) $("wave-interviewers").value = remembered("console.interviewer");
    if ($("queue-state").value) $("wave-state").value = $("queue-state").value;
    $("wave-state").focus();
  } else {
    $("wave-open").focus();
  }
}

async function sendWave(event) {
  event.preventDefault();
  clearError("wave-error");
  const names = $("wave-interviewers").value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  const slot = $("wave-slot").value.trim();
  const problems = [];
  const need = (id, key) => { if (!$(id).value.trim()) problems.push([id, "err_required", { field: key }]); };
  need("wave-state", "state");
  need("wave-date", "date");
  need("wave-start", "start_time");
  need("wave-end", "end_time");
  if (!/^\d+$/.test(slot) || Number(slot) < 5 || Number(slot) > 240) {
    problems.push(["wave-slot", "err_number", { field: "slot_minutes", min: 5, max: 240 }]);
  }
  if (!names.length) problems.push(["wave-interviewers", "err_required", { field: "interviewers" }]);
  if ($("wave-start").value && $("wave-end").value && $("wave-end").value <= $("wave-start").value) {
    problems.push(["wave-end", "err_end_before_start", {}]);
  }
  for (const input of $("wave-form").querySelectorAll("input, textarea, select")) input.removeAttribute("aria-invalid");
  if (problems.length) {
    for (const [id] of problems) $(id).setAttribute("aria-invalid", "true");
    showError("wave-error", problems.flatMap(([, key, p]) => [lang, other()].map((language) =>
      el("p", { lang: language, class: "msg" }, word(key, { ...p, field: p.field ? word(p.field, null, language) : "" },
        language)))));
    $(problems[0][0]).focus();
    return;
  }
  const body = { state: $("wave-state").value, date: $("wave-date").value, start: $("wave-start").value,
    end: $("wave-end").value, slot_minutes: Number(slot), interviewers: names };
  try {
    const wave = await sending($("wave-form"), $("wave-form").querySelector("button[type=submit]"),
      () => api("screening", "/v1/interview-waves", { method: "POST", body }));
    for (const interview of wave.interviews) {
      const c = cases.get(interview.application_id);
      if (c) Object.assign(c, { status: "scheduled", interview_at: interview.interview_at,
        interviewer: interview.interviewer });
    }
    try { localStorage.setItem("console.interviewer", names[0]); } catch { /* optional */ }
    renderQueue();
    sayBoth("wave_saved", (l) => ({ scheduled: wave.scheduled, state: stateName(wave.state, l), date: day(wave.date, l),
      capacity: wave.capacity }));
  } catch (error) {
    showError("wave-error", error, () => $("wave-form").requestSubmit());
  }
}

// --- my decided cases ----------------------------------------------------------------------------------------------

async function loadDecided(more) {
  if (!more) {
    cache.decided = [];
    cache.decidedCursor = null;
  }
  const params = new URLSearchParams({ limit: "50" });
  if (more && cache.decidedCursor) params.set("cursor", cache.decidedCursor);
  try {
    const page = await api("screening", `/v1/cases/decided?${params}`);
    cache.decided.push(...page.items);
    cache.decidedCursor = page.next_cursor;
  } catch (error) {
    pageError(error);
  }
  renderDecided();
}

function cells(row, values) {
  // Each cell carries its column's name for the card layout of narrow screens.
  const heads = [...row.closest("table").querySelectorAll("thead th")].map((th) => th.textContent.trim());
  values.forEach((value, i) => {
    const cell = value instanceof Node && value.nodeName === "TD" ? value : el("td", {}, value);
    if (heads[i]) cell.dataset.label = heads[i];
    row.append(cell);
  });
  return row;
}

function tableRows(bodyId, rows, build) {
  const body = $(bodyId);
  body.replaceChildren();
  // An empty table is not shown: the view says in words that there is nothing.
  body.closest(".table-box").hidden = rows.length === 0;
  for (const item of rows) {
    const tr = el("tr");
    body.append(tr);
    cells(tr, build(item, tr));
  }
}

function renderDecided() {
  tableRows("decided-body", cache.decided, (d) => [
    d.full_name || t("erased_person"), stateName(d.state), d.district,
    el("span", { class: `badge s-${d.outcome}` }, statusWord(d.outcome)),
    el("td", { class: "num" }, d.score == null ? "—" : String(d.score)), when(d.decided_at, true)]);
  $("decided-empty").hidden = cache.decided.length > 0;
  $("decided-more").hidden = !cache.decidedCursor;
}

// --- admin: the election calendar ---------------------------------------------------------------------------------

async function loadCalendar() {
  try {
    cache.calendar = await api("screening", "/v1/election-calendar");
  } catch (error) {
    pageError(error);
    return;
  }
  if (!$("calendar-date").value) $("calendar-date").value = cache.calendar.today;
  renderCalendar();
}

function renderCalendar() {
  if (!cache.calendar) return;
  $("calendar-today").textContent = day(cache.calendar.today);
  const items = [...cache.calendar.items].sort((a, b) => a.state.localeCompare(b.state));
  tableRows("calendar-body", items, (entry) => [
    stateName(entry.state), day(entry.polling_ends), entry.deferring ? t("yes") : t("no"),
    el("button", { type: "button", class: "btn small", onclick: () => clearCalendar(entry.state) },
      t("clear"), srOnly(`: ${stateName(entry.state)}`))]);
  $("calendar-empty").hidden = items.length > 0;
}

async function setCalendar(event) {
  event.preventDefault();
  clearError("calendar-error");
  const state = $("calendar-state").value;
  const date = $("calendar-date").value;
  if (!date) {
    $("calendar-date").setAttribute("aria-invalid", "true");
    showError("calendar-error", bothLanguages("err_required", { field: t("polling_ends") }));
    return;
  }
  $("calendar-date").removeAttribute("aria-invalid");
  try {
    const answer = await sending($("calendar-form"), $("calendar-form").querySelector("button[type=submit]"),
      () => api("screening", `/v1/election-calendar/${encodeURIComponent(state)}`, { method: "PUT",
        body: { polling_ends: date } }));
    sayBoth("calendar_saved", (l) => ({ state: stateName(state, l), date: day(answer.polling_ends, l),
      changed: answer.changed }));
    await loadCalendar();
  } catch (error) {
    showError("calendar-error", error, () => $("calendar-form").requestSubmit());
  }
}

async function clearCalendar(state) {
  clearError("calendar-error");
  try {
    await api("screening", `/v1/election-calendar/${encodeURIComponent(state)}`, { method: "DELETE" });
    sayBoth("calendar_cleared", (l) => ({ state: stateName(state, l) }));
    await loadCalendar();
    $("calendar-state").focus();
  } catch (error) {
    showError("calendar-error", error, () => clearCalendar(state));
  }
}

// --- admin: capacities -----------------------------------------------------------------------------------------

async function loadCapacity() {
  try {
    cache.capacity = await api("placement", "/v1/capacity");
  } catch (error) {
    pageError(error);
    return;
  }
  for (const level of ["state", "district", "block"]) $(`cap-${level}`).value = cache.capacity[level];
  renderOverrides();
}

function renderOverrides() {
  if (!cache.capacity) return;
  const rows = Object.entries(cache.capacity.overrides).sort(([a], [b]) => a.localeCompare(b));
  tableRows("overrides-body", rows, ([unit, seats]) => [
    el("a", { href: `#roster/${unit}` }, unit), el("td", { class: "num" }, num(seats)),
    el("button", { type: "button", class: "btn small", onclick: () => clearUnit(unit, "override-error") },
      t("clear"), srOnly(`: ${unit}`))]);
  $("overrides-empty").hidden = rows.length > 0;
}

function wholeNumber(id, key, min, max, problems) {
  const raw = $(id).value.trim();
  const ok = /^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max;
  if (ok) $(id).removeAttribute("aria-invalid");
  else {
    $(id).setAttribute("aria-invalid", "true");
    problems.push([id, key, min, max]);
  }
  return Number(raw);
}
function numberProblems(problems) {
  return problems.flatMap(([, key, min, max]) => [lang, other()].map((language) => el("p", { lang: language,
    class: "msg" }, word("err_number", { field: word(key, null, language), min, max: num(max) }, language))));
}

async function saveLevels(event) {
  event.preventDefault();
  clearError("levels-error");
  const problems = [];
  const body = Object.fromEntries(["state", "district", "block"].map((level) =>
    [level, wholeNumber(`cap-${level}`, `level_${level}`, 0, 100000, problems)]));
  if (problems.length) {
    showError("levels-error", numberProblems(problems));
    $(problems[0][0]).focus();
    return;
  }
  try {
    const answer = await sending($("levels-form"), $("levels-form").querySelector("button[type=submit]"),
      () => api("placement", "/v1/capacity", { method: "PUT", body }));
    cache.capacity = answer;
    renderOverrides();
    sayBoth("capacity_saved", { changed: answer.changed });
  } catch (error) {
    showError("levels-error", error, () => $("levels-form").requestSubmit());
  }
}

async function setUnit(unit, capacity, errorBox, form) {
  const answer = await sending(form, form.querySelector("button[type=submit]"), () => api("placement",
    `/v1/units/${unitPath(unit)}/capacity`, { method: "PUT", body: { capacity } }));
  sayBoth("unit_saved", { unit: answer.unit_id, capacity: answer.capacity, changed: answer.changed });
  clearError(errorBox);
  return answer;
}

async function saveOverride(event) {
  event.preventDefault();
  clearError("override-error");
  const unit = $("override-unit").value.trim().replace(/^\/+|\/+$/g, "");
  const problems = [];
  const capacity = wholeNumber("override-capacity", "seats", 0, 100000, problems);
  if (!unit) {
    $("override-unit").setAttribute("aria-invalid", "true");
    showError("override-error", bothLanguages("err_required", { field: t("col_unit") }));
    $("override-unit").focus();
    return;
  }
  $("override-unit").removeAttribute("aria-invalid");
  if (problems.length) {
    showError("override-error", numberProblems(problems));
    $("override-capacity").focus();
    return;
  }
  try {
    await setUnit(unit, capacity, "override-error", $("override-form"));
    await loadCapacity();
  } catch (error) {
    showError("override-error", error, () => $("override-form").requestSubmit());
  }
}

async function clearUnit(unit, errorBox) {
  clearError(errorBox);
  try {
    const answer = await api("placement", `/v1/units/${unitPath(unit)}/capacity`, { method: "DELETE" });
    sayBoth("unit_cleared", { unit: answer.unit_id, capacity: answer.capacity, changed: answer.changed });
    if (currentView === "capacity") await loadCapacity();
    if (currentView === "roster") await loadRoster(unit);
  } catch (error) {
    showError(errorBox, error, () => clearUnit(unit, errorBox));
  }
}

// --- admin: units and a unit's roster -----------------------------------------------------------------------------

async function loadUnits(arg) {
  if (arg) {
    const [state, level] = arg.split("/");
    if ([...$("units-state").options].some((o) => o.value === state.toUpperCase())) {
      $("units-state").value = state.toUpperCase();
    }
    if (level) $("units-level").value = level;
  }
  const params = new URLSearchParams();
  if ($("units-state").value) params.set("state", $("units-state").value);
  if ($("units-level").value) params.set("level", $("units-level").value);
  try {
    const query = params.toString();
    cache.units = await api("placement", `/v1/units${query ? `?${query}` : ""}`);
  } catch (error) {
    pageError(error);
    cache.units = [];
  }
  cache.unitsShown = UNITS_PAGE;
  renderUnits();
}

function fillBar(filled, capacity) {
  const share = capacity > 0 ? Math.min(1, filled / capacity) : filled > 0 ? 1 : 0;
  return el("span", { class: "fill-cell" },
    el("span", { class: "bar", "aria-hidden": "true" },
      el("span", { class: `bar-fill${filled >= capacity ? " full" : ""}`,
      style: `width:${Math.round(share * 100)}%` })),
    el("span", { class: "pct" }, capacity > 0 ? `${Math.round(share * 100)}%` : "—"));
}

const levelWord = (level) => t(`level_${level}`);

function renderUnits() {
  const shown = cache.units.slice(0, cache.unitsShown);
  tableRows("units-body", shown, (u) => [
    el("a", { href: `#roster/${u.unit_id}` }, u.unit_id), levelWord(u.level),
    el("td", { class: "num" }, num(u.filled)), el("td", { class: "num" }, num(u.capacity)),
    fillBar(u.filled, u.capacity)]);
  const totals = cache.units.reduce((sum, u) => ({ filled: sum.filled + u.filled,
  capacity: sum.capacity + u.capacity }),
    { filled: 0, capacity: 0 });
  $("units-summary").textContent = t("units_summary", { units: num(cache.units.length), filled: num(totals.filled),
    capacity: num(totals.capacity) });
  $("units-empty").hidden = cache.units.length > 0;
  $("units-more").hidden = cache.units.length <= cache.unitsShown;
}

async function loadRoster(unit) {
  unit = (unit || "").replace(/^\/+|\/+$/g, "");
  $("roster-unit").textContent = unit;
  clearError("roster-cap-error");
  const state = unit.split("/")[0].toUpperCase();
  let members;
  let info = null;
  $("roster-body").setAttribute("aria-busy", "true");
  try {
    const [list, units] = await Promise.all([
      api("placement", `/v1/units/${unitPath(unit)}/members`),
      api("placement", `/v1/units?state=${encodeURIComponent(state)}`)]);
    members = list;
    info = units.find((u) => u.unit_id === unit) || null;
    const people = members.length ? await lookup(members.map((m) => m.application_id)) : [];
    const byId = new Map(people.map((p) => [p.application_id, p]));
    cache.roster = { unit, info, members: members.map((m) => ({ ...m, ...(byId.get(m.application_id) || {}) })) };
  } catch (error) {
    pageError(error);
    cache.roster = { unit, info, members: [] };
  } finally {
    $("roster-body").removeAttribute("aria-busy");
  }
  if (info) $("roster-capacity").value = info.capacity;
  renderRoster();
}

function renderRoster() {
  const roster = cache.roster;
  if (!roster) return;
  tableRows("roster-body", roster.members, (m) => [
    el("td", { class: "num" }, String(m.rank)), m.full_name || t("erased_person"),
    m.phone ? el("a", { href: `tel:${m.phone}` }, m.phone) : "—",
    m.email ? el("a", { href: `mailto:${m.email}` }, m.email) : "—",
    m.district || "—", m.block || "—", el("td", { class: "num" }, String(m.score))]);
  $("roster-empty").hidden = roster.members.length > 0;
  $("roster-summary").textContent = roster.info ? t("roster_summary", { members: num(roster.members.length),
    capacity: num(roster.info.capacity), level: levelWord(roster.info.level) }) : "";
}

async function saveRosterCapacity(event) {
  event.preventDefault();
  clearError("roster-cap-error");
  const problems = [];
  const capacity = wholeNumber("roster-capacity", "unit_seats", 0, 100000, problems);
  if (problems.length) {
    showError("roster-cap-error", numberProblems(problems));
    $("roster-capacity").focus();
    return;
  }
  const unit = cache.roster.unit;
  try {
    await setUnit(unit, capacity, "roster-cap-error", $("roster-cap-form"));
    await loadRoster(unit);
  } catch (error) {
    showError("roster-cap-error", error, () => $("roster-cap-form").requestSubmit());
  }
}

function rosterCsv() {
  const roster = cache.roster;
  if (!roster) return;
  const quote = (v) => `"${String(v ?? "").replace(/"/g, '""')}"`;
  const lines = [["rank", "name", "phone", "email", "state", "district", "block", "score", "application_id"],
    ...roster.members.map((m) => [m.rank, m.full_name, m.phone, m.email, m.state, m.district, m.block, m.score,
      m.application_id])].map((row) => row.map(quote).join(","));
  const blob = new Blob([`\ufeff${lines.join("\r\n")}\r\n`], { type: "text/csv;charset=utf-8" });
  const link = el("a", { href: URL.createObjectURL(blob), download: `roster-${roster.unit.replace(/\//g, "-")}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// --- admin: the audit trail ----------------------------------------------------------------------------------------

async function auditOf(service, since) {
  const items = [];
  let cursor = since;
  for (let page = 0; page < AUDIT_PAGES; page += 1) {
    const answer = await api(service, `/v1/audit?${new URLSearchParams({ since: cursor, limit: "500" })}`);
    items.push(...answer.items.map((item) => ({ ...item, service })));
    if (!answer.next_since || !answer.items.length || answer.next_since === cursor) return { items, capped: false };
    cursor = answer.next_since;
  }
  return { items, capped: true };
}

async function loadAudit() {
  if (!$("audit-since").value) {
    const p = istParts(new Date(Date.now() - 24 * 3600 * 1000));
    $("audit-since").value = `${p.date}T${p.time}`;
  }
  const since = istInstant($("audit-since").value);
  $("audit-body").setAttribute("aria-busy", "true");
  const services = ["screening", "placement", "intake"];
  const settled = await Promise.all(services.map((service) => auditOf(service, since).then(
    (part) => ({ service, part }), (error) => ({ service, error }))));
  $("audit-body").removeAttribute("aria-busy");
  if (!me) return; // a 401 signed the page out meanwhile
  const parts = settled.filter((s) => s.part).map((s) => s.part);
  // Newest first across the services, by the moment (text compares wrongly where one `at` has no fraction of a
  // second); each service's own rows come oldest first, so reversed first, the stable sort keeps ties newest first.
  cache.audit = parts.flatMap((part) => [...part.items].reverse()).sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  cache.auditCapped = parts.some((part) => part.capped);
  const failed = settled.filter((s) => s.error);
  if (failed.length === services.length) pageError(failed[0].error);
  else if (failed.length) {
    pageError([...bothLanguages("audit_partial", { services: failed.map((s) => s.service).join(", ") }),
      ...explain(failed[0].error)]);
  }
  renderAudit();
}

function actorText(actor) {
  if (!actor) return "—";
  if (actor.role === "applicant") return t("applicant");
  const role = actor.role === "admin" ? t("role_admin") : actor.role === "interviewer" ? t("role_interviewer")
    : actor.role;
  const states = actor.states ? actor.states.join(", ") : t("all_states");
  return `${role} · ${states}${actor.fingerprint ? ` · #${actor.fingerprint}` : ""}`;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
function changeText(before, after) {
  const absent = (v) => v === null || v === undefined;
  // Keys empty on both sides say nothing (a no-show's score, say).
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])]
    .filter((key) => !(absent(before && before[key]) && absent(after && after[key])));
  const show = (v) => (absent(v) ? "—"
    : typeof v === "object" ? Object.entries(v).map(([k, x]) => `${k} ${show(x)}`).join(", ")
      : typeof v === "string" && ISO_INSTANT.test(v) ? when(v) : String(v));
  return keys.map((key) => {
    const a = before ? before[key] : undefined;
    const b = after ? after[key] : undefined;
    if (a === undefined) return `${key}: ${show(b)}`; // a fact of the change (how many moved), not a before/after
    if (b === undefined) return `${key}: ${show(a)} → —`;
    return JSON.stringify(a) === JSON.stringify(b) ? `${key}: ${show(a)}` : `${key}: ${show(a)} → ${show(b)}`;
  }).join("; ");
}

function renderAudit() {
  tableRows("audit-body", cache.audit, (item) => [
    when(item.at, true), item.service, (() => {
      const key = `a_${item.action.replace(/\./g, "_")}`;
      return t(key) === key ? item.action : t(key);
    })(), el("code", {}, String(item.target ?? "")), actorText(item.actor),
    el("td", { class: "change" }, changeText(item.before, item.after))]);
  $("audit-empty").hidden = cache.audit.length > 0;
  $("audit-summary").textContent = cache.auditCapped ? t("audit_capped", { count: num(cache.audit.length) })
    : t("audit_summary", { count: num(cache.audit.length) });
}

// --- keyboard shortcuts ----------------------------------------------------------------------------------------

const SHORTCUTS = [["j", "k_next"], ["k", "k_prev"], ["o / Enter", "k_open"], ["s", "k_schedule"],
  ["r", "k_result"], ["w", "k_wave"], ["/", "k_filter"], ["1 … #", "k_views"], ["?", "k_help"], ["Esc", "k_close"]];

function renderHelp() {
  const sections = String([...document.querySelectorAll("#nav a")].filter((a) => a.offsetParent !== null).length);
  $("help-keys").replaceChildren(...SHORTCUTS.map(([key, what]) => [key.replace("#", sections), what])
    .flatMap(([key, what]) => [
      el("dt", {}, ...key.split(" ").map((part) => (["/", "…"].includes(part) && key !== "/" ? ` ${part} `
        : el("kbd", {}, part)))),
      el("dd", {}, t(what))]));
}

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(
    target.tagName));
}

function onKey(event) {
  if (!me || event.ctrlKey || event.metaKey || event.altKey) return;
  if ($("help").open) return; // the dialog handles its own Esc
  if (event.key === "Escape") {
    if (openId && !typing(event.target)) {
      const id = openId;
      closeCase();
      const node = document.querySelector(`#view-${currentView} li.case[data-id="${id}"]`);
      if (node) node.focus();
    }
    return;
  }
  if (typing(event.target)) return;
  const key = event.key;
  if (key === "?") {
    event.preventDefault();
    renderHelp();
    $("help").showModal();
    return;
  }
  if (/^[1-7]$/.test(key)) {
    const links = [...document.querySelectorAll("#nav a")].filter((a) => a.offsetParent !== null);
    const link = links[Number(key) - 1];
    if (link) {
      event.preventDefault();
      location.hash = link.getAttribute("href");
    }
    return;
  }
  if (currentView !== "queue" && currentView !== "scheduled") return;
  const list = currentList();
  const selected = list[selectedIndex];
  const onButton = event.target instanceof HTMLElement && ["BUTTON", "A", "SUMMARY"].includes(event.target.tagName);
  switch (key) {
    case "j": event.preventDefault(); move(1); break;
    case "k": event.preventDefault(); move(-1); break;
    case "Enter":
      if (onButton || !selected) return;
      event.preventDefault();
      openCase(selected, null);
      break;
    case "o": if (selected) { event.preventDefault(); openCase(selected, null); } break;
    case "s": if (selected || openId) { event.preventDefault(); openCase(openId || selected, "schedule"); } break;
    case "r": if (selected || openId) { event.preventDefault(); openCase(openId || selected, "result"); } break;
    case "w": if (currentView === "queue") { event.preventDefault(); toggleWave(true); } break;
    case "/": if (currentView === "queue") { event.preventDefault(); $("queue-state").focus(); } break;
    default: break;
  }
}

// --- wiring ----------------------------------------------------------------------------------------------------

function setLanguage(next) {
  lang = next;
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* this page only, then */ }
  applyWords();
  if (!me) return;
  renderWho();
  fillStateSelects();
  if (config) {
    for (const item of config.rubric) {
      $(`rubric-${item}-label`).textContent = rubricName(item);
      if ($(`rubric-${item}`).getAttribute("aria-invalid")) markField(item, "err_rubric_field");
    }
    liveScore();
  }
  renderQueue();
  renderScheduled();
  if (openId) renderCase();
  renderDecided();
  renderCalendar();
  renderOverrides();
  renderUnits();
  renderRoster();
  renderAudit();
}

function wire() {
  $("lang-toggle").addEventListener("click", () => setLanguage(lang === "hi" ? "en" : "hi"));
  $("status").addEventListener("click", () => { $("status").textContent = ""; }); // a toast in the way goes
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) {
      $("token").setAttribute("aria-invalid", "true");
      showError("signin-error", bothLanguages("err_token_empty"));
      $("token").focus();
      return;
    }
    const button = $("signin-form").querySelector("button[type=submit]");
    const ok = await sending($("signin-form"), button, () => signIn(value));
    if (ok) $("token").removeAttribute("aria-invalid");
    else {
      $("token").setAttribute("aria-invalid", "true");
      $("token").focus();
    }
  });
  $("sign-out").addEventListener("click", signOut);
  $("help-open").addEventListener("click", () => { renderHelp(); $("help").showModal(); });
  $("queue-state").addEventListener("change", () => {
    location.hash = $("queue-state").value ? `#queue/${$("queue-state").value}` : "#queue";
  });
  $("queue-refresh").addEventListener("click", () => loadQueue(""));
  $("queue-more").addEventListener("click", () => loadQueue("", true));
  $("wave-open").addEventListener("click", () => toggleWave());
  $("wave-cancel").addEventListener("click", () => toggleWave(false));
  $("wave-form").addEventListener("submit", sendWave);
  $("scheduled-filter").addEventListener("submit", (event) => { event.preventDefault(); loadScheduled(false); });
  $("scheduled-more").addEventListener("click", () => loadScheduled(true));
  $("open-case-form").addEventListener("submit", openById);
  $("case-close").addEventListener("click", () => {
    const id = openId;
    closeCase();
    const node = document.querySelector(`#view-${currentView} li.case[data-id="${id}"]`);
    if (node) node.focus();
  });
  $("schedule-form").addEventListener("submit", schedule);
  $("rubric-form").addEventListener("submit", sendResult);
  $("no-show").addEventListener("click", () => result(true));
  $("decided-refresh").addEventListener("click", () => loadDecided(false));
  $("decided-more").addEventListener("click", () => loadDecided(true));
  $("calendar-form").addEventListener("submit", setCalendar);
  $("levels-form").addEventListener("submit", saveLevels);
  $("override-form").addEventListener("submit", saveOverride);
  $("units-filter").addEventListener("submit", (event) => { event.preventDefault(); loadUnits(""); });
  $("units-more").addEventListener("click", () => { cache.unitsShown += UNITS_PAGE; renderUnits(); });
  $("roster-cap-form").addEventListener("submit", saveRosterCapacity);
  $("roster-cap-clear").addEventListener("click",
    () => cache.roster && clearUnit(cache.roster.unit, "roster-cap-error"));
  $("roster-csv").addEventListener("click", rosterCsv);
  $("audit-form").addEventListener("submit", (event) => { event.preventDefault(); loadAudit(); });
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", route);
  // Keep unsent scores when the tab is hidden or closed.
  document.addEventListener("visibilitychange", saveDraft);
}

async function start() {
  applyWords();
  wire();
  const saved = readToken();
  if (saved) {
    showView("signin");
    await signIn(saved, { quiet: true });
  } else {
    showView("signin");
  }
  document.body.classList.add("ready");
}

start();
