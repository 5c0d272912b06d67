"""Shared reference data: India's 36 states and union territories, their names, districts and campaign weights."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class State:
    """One state or union territory.

    ``weight`` is its share of applications in the simulated campaign; the
    weights of all 36 sum to 1.
    """

    code: str
    name_en: str
    name_hi: str
    districts: tuple[str, ...]
    weight: float


# Rajasthan's share is fixed by the campaign story (30,000 of 1.5 lakh); every
# other state or UT shares the remaining 80 % in proportion to its population.
RAJASTHAN_WEIGHT = 0.20

# (code, English name, Hindi name, population in lakh (Census 2011, AP and TG
# split along the 2014 boundary, JK and LA along the 2019 one), districts).
# Districts are a representative selection of real ones (all of them for the
# small states), not an exhaustive register: they feed the simulator and the
# spelling canonicalisation of intake, never a validation whitelist.
_TABLE: tuple[tuple[str, str, str, float, tuple[str, ...]], ...] = (
    ("AN", "Andaman and Nicobar Islands", "अंडमान और निकोबार द्वीपसमूह", 3.8,
     ("Nicobar", "North and Middle Andaman", "South Andaman")),
    ("AP", "Andhra Pradesh", "आंध्र प्रदेश", 493.9,
     ("Srikakulam", "Vizianagaram", "Visakhapatnam", "East Godavari", "West Godavari",
      "Krishna", "NTR", "Guntur", "Prakasam", "Nellore", "Kurnool", "Anantapur",
      "YSR Kadapa", "Chittoor", "Tirupati", "Kakinada")),
    ("AR", "Arunachal Pradesh", "अरुणाचल प्रदेश", 13.8,
     ("Papum Pare", "Tawang", "West Kameng", "East Kameng", "Lower Subansiri",
      "East Siang", "West Siang", "Upper Siang", "Lohit", "Changlang", "Tirap")),
    ("AS", "Assam", "असम", 312.1,
     ("Kamrup Metropolitan", "Kamrup", "Dibrugarh", "Jorhat", "Nagaon", "Cachar",
      "Sonitpur", "Barpeta", "Tinsukia", "Dhubri", "Golaghat", "Sivasagar")),
    ("BR", "Bihar", "बिहार", 1040.9,
     ("Patna", "Gaya", "Muzaffarpur", "Bhagalpur", "Darbhanga", "Purnia", "Nalanda",
      "Vaishali", "Saran", "Siwan", "East Champaran", "West Champaran", "Begusarai",
      "Samastipur", "Madhubani", "Rohtas")),
    ("CG", "Chhattisgarh", "छत्तीसगढ़", 255.5,
     ("Raipur", "Bilaspur", "Durg", "Rajnandgaon", "Korba", "Raigarh", "Bastar",
      "Surguja", "Janjgir-Champa", "Dhamtari", "Mahasamund", "Kanker")),
    ("CH", "Chandigarh", "चंडीगढ़", 10.6,
     ("Chandigarh",)),
    ("DH", "Dadra and Nagar Haveli and Daman and Diu", "दादरा और नगर हवेली और दमन और दीव", 5.9,
     ("Dadra and Nagar Haveli", "Daman", "Diu")),
    ("DL", "Delhi", "दिल्ली", 167.9,
     ("Central Delhi", "East Delhi", "New Delhi", "North Delhi", "North East Delhi",
      "North West Delhi", "Shahdara", "South Delhi", "South East Delhi",
      "South West Delhi", "West Delhi")),
    ("GA", "Goa", "गोवा", 14.6,
     ("North Goa", "South Goa")),
    ("GJ", "Gujarat", "गुजरात", 604.4,
     ("Ahmedabad", "Surat", "Vadodara", "Rajkot", "Bhavnagar", "Jamnagar", "Junagadh",
      "Gandhinagar", "Kutch", "Anand", "Mehsana", "Banaskantha", "Kheda",
      "Panchmahal", "Valsad", "Navsari")),
    ("HP", "Himachal Pradesh", "हिमाचल प्रदेश", 68.6,
     ("Shimla", "Kangra", "Mandi", "Kullu", "Solan", "Una", "Hamirpur", "Bilaspur",
      "Chamba", "Sirmaur", "Kinnaur", "Lahaul and Spiti")),
    ("HR", "Haryana", "हरियाणा", 253.5,
     ("Gurugram", "Faridabad", "Hisar", "Rohtak", "Panipat", "Karnal", "Ambala",
      "Sonipat", "Yamunanagar", "Kurukshetra", "Bhiwani", "Sirsa", "Jind")),
    ("JH", "Jharkhand", "झारखंड", 329.9,
     ("Ranchi", "Dhanbad", "East Singhbhum", "West Singhbhum", "Bokaro", "Hazaribagh",
      "Deoghar", "Giridih", "Palamu", "Dumka")),
    ("JK", "Jammu and Kashmir", "जम्मू और कश्मीर", 122.7,
     ("Srinagar", "Jammu", "Anantnag", "Baramulla", "Budgam", "Pulwama", "Kupwara",
      "Udhampur", "Kathua", "Rajouri", "Poonch", "Doda")),
    ("KA", "Karnataka", "कर्नाटक", 610.9,
     ("Bengaluru Urban", "Bengaluru Rural", "Mysuru", "Belagavi", "Kalaburagi",
      "Dharwad", "Dakshina Kannada", "Udupi", "Ballari", "Shivamogga", "Tumakuru",
      "Vijayapura", "Hassan", "Mandya")),
    ("KL", "Kerala", "केरल", 334.1,
     ("Thiruvananthapuram", "Kollam", "Pathanamthitta", "Alappuzha", "Kottayam",
      "Idukki", "Ernakulam", "Thrissur", "Palakkad", "Malappuram", "Kozhikode",
      "Wayanad", "Kannur", "Kasaragod")),
    ("LA", "Ladakh", "लद्दाख", 2.7,
     ("Leh", "Kargil")),
    ("LD", "Lakshadweep", "लक्षद्वीप", 0.64,
     ("Lakshadweep",)),
    ("MH", "Maharashtra", "महाराष्ट्र", 1123.7,
     ("Mumbai City", "Mumbai Suburban", "Pune", "Thane", "Nagpur", "Nashik",
      "Chhatrapati Sambhajinagar", "Solapur", "Kolhapur", "Ahilyanagar", "Amravati",
      "Nanded", "Satara", "Sangli", "Jalgaon", "Palghar")),
    ("ML", "Meghalaya", "मेघालय", 29.7,
     ("East Khasi Hills", "West Khasi Hills", "Ri-Bhoi", "West Jaintia Hills",
      "East Garo Hills", "West Garo Hills", "South Garo Hills")),
    ("MN", "Manipur", "मणिपुर", 28.6,
     ("Imphal West", "Imphal East", "Thoubal", "Bishnupur", "Churachandpur",
      "Senapati", "Ukhrul", "Chandel", "Tamenglong")),
    ("MP", "Madhya Pradesh", "मध्य प्रदेश", 726.3,
     ("Indore", "Bhopal", "Jabalpur", "Gwalior", "Ujjain", "Sagar", "Rewa", "Satna",
      "Ratlam", "Dewas", "Chhindwara", "Vidisha", "Morena", "Khargone")),
    ("MZ", "Mizoram", "मिज़ोरम", 11.0,
     ("Aizawl", "Lunglei", "Champhai", "Kolasib", "Mamit", "Serchhip", "Lawngtlai",
      "Siaha")),
    ("NL", "Nagaland", "नागालैंड", 19.8,
     ("Kohima", "Dimapur", "Mokokchung", "Tuensang", "Wokha", "Zunheboto", "Mon",
      "Phek")),
    ("OD", "Odisha", "ओडिशा", 419.7,
     ("Khordha", "Cuttack", "Ganjam", "Sundargarh", "Balasore", "Puri", "Mayurbhanj",
      "Sambalpur", "Koraput", "Kendrapara", "Jajpur", "Bhadrak")),
    ("PB", "Punjab", "पंजाब", 277.4,
     ("Ludhiana", "Amritsar", "Jalandhar", "Patiala", "Bathinda",
      "Sahibzada Ajit Singh Nagar", "Hoshiarpur", "Gurdaspur", "Firozpur", "Sangrur",
      "Moga", "Kapurthala")),
    ("PY", "Puducherry", "पुदुचेरी", 12.5,
     ("Puducherry", "Karaikal", "Mahe", "Yanam")),
    ("RJ", "Rajasthan", "राजस्थान", 685.5,
     ("Ajmer", "Alwar", "Banswara", "Baran", "Barmer", "Bharatpur", "Bhilwara",
      "Bikaner", "Bundi", "Chittorgarh", "Churu", "Dausa", "Dholpur", "Dungarpur",
      "Hanumangarh", "Jaipur", "Jaisalmer", "Jalore", "Jhalawar", "Jhunjhunu",
      "Jodhpur", "Karauli", "Kota", "Nagaur", "Pali", "Pratapgarh", "Rajsamand",
      "Sawai Madhopur", "Sikar", "Sirohi", "Sri Ganganagar", "Tonk", "Udaipur")),
    ("SK", "Sikkim", "सिक्किम", 6.1,
     ("Gangtok", "Mangan", "Namchi", "Gyalshing", "Pakyong", "Soreng")),
    ("TG", "Telangana", "तेलंगाना", 350.0,
     ("Hyderabad", "Medchal-Malkajgiri", "Rangareddy", "Warangal", "Hanumakonda",
      "Karimnagar", "Nizamabad", "Khammam", "Nalgonda", "Adilabad", "Mahabubnagar",
      "Sangareddy", "Siddipet")),
    ("TN", "Tamil Nadu", "तमिलनाडु", 721.5,
     ("Chennai", "Coimbatore", "Madurai", "Tiruchirappalli", "Salem", "Tirunelveli",
      "Erode", "Vellore", "Thanjavur", "Tiruppur", "Kanyakumari", "Dindigul",
      "Thoothukudi", "Kancheepuram", "Chengalpattu", "Viluppuram")),
    ("TR", "Tripura", "त्रिपुरा", 36.7,
     ("West Tripura", "Sepahijala", "Gomati", "South Tripura", "Dhalai", "Khowai",
      "Unakoti", "North Tripura")),
    ("UK", "Uttarakhand", "उत्तराखंड", 100.9,
     ("Dehradun", "Haridwar", "Nainital", "Udham Singh Nagar", "Almora",
      "Pauri Garhwal", "Tehri Garhwal", "Chamoli", "Pithoragarh", "Uttarkashi",
      "Rudraprayag", "Bageshwar", "Champawat")),
    ("UP", "Uttar Pradesh", "उत्तर प्रदेश", 1998.1,
     ("Lucknow", "Kanpur Nagar", "Prayagraj", "Varanasi", "Agra", "Ghaziabad",
      "Gautam Buddh Nagar", "Meerut", "Bareilly", "Aligarh", "Moradabad", "Gorakhpur",
      "Jhansi", "Ayodhya", "Azamgarh", "Saharanpur", "Mathura", "Jaunpur", "Sitapur",
      "Hardoi")),
    ("WB", "West Bengal", "पश्चिम बंगाल", 912.8,
     ("Kolkata", "North 24 Parganas", "South 24 Parganas", "Howrah", "Hooghly",
      "Paschim Bardhaman", "Purba Bardhaman", "Nadia", "Murshidabad",
      "Paschim Medinipur", "Purba Medinipur", "Darjeeling", "Jalpaiguri", "Malda",
      "Bankura", "Birbhum")),
)


def _weights() -> dict[str, float]:
    others = sum(pop for code, _, _, pop, _ in _TABLE if code != "RJ")
    return {
        code: RAJASTHAN_WEIGHT if code == "RJ" else (1 - RAJASTHAN_WEIGHT) * pop / others
        for code, _, _, pop, _ in _TABLE
    }


_WEIGHTS = _weights()

STATES: dict[str, State] = {
    code: State(code, name_en, unicodedata.normalize("NFC", name_hi), districts, _WEIGHTS[code])
    for code, name_en, name_hi, _, districts in sorted(_TABLE)
}

# Keyed by (state code, district) because district names repeat across states
# (Bilaspur is in both CG and HP; Aurangabad in both BR and MH).
BLOCKS_BY_DISTRICT: dict[tuple[str, str], tuple[str, ...]] = {
    ("RJ", "Jaipur"): ("Sanganer", "Amber", "Chaksu", "Bassi", "Chomu", "Phagi", "Dudu",
                       "Kotputli", "Shahpura", "Jamwa Ramgarh"),
    ("RJ", "Jodhpur"): ("Osian", "Bilara", "Phalodi", "Shergarh", "Luni", "Bhopalgarh",
                        "Balesar"),
    ("RJ", "Udaipur"): ("Girwa", "Mavli", "Vallabhnagar", "Salumbar", "Kherwara",
                        "Gogunda", "Jhadol"),
    ("RJ", "Ajmer"): ("Kishangarh", "Beawar", "Nasirabad", "Kekri", "Masuda", "Pisangan"),
    ("RJ", "Kota"): ("Ladpura", "Sangod", "Itawa", "Digod", "Ramganj Mandi"),
    ("UP", "Lucknow"): ("Bakshi Ka Talab", "Chinhat", "Gosainganj", "Kakori", "Malihabad",
                        "Mohanlalganj", "Sarojini Nagar", "Mal"),
    ("UP", "Varanasi"): ("Arajiline", "Baragaon", "Chiraigaon", "Cholapur", "Harahua",
                         "Kashi Vidyapeeth", "Pindra", "Sevapuri"),
    ("BR", "Patna"): ("Bakhtiarpur", "Barh", "Danapur", "Fatuha", "Masaurhi", "Paliganj",
                      "Phulwari", "Bihta", "Naubatpur"),
    ("MH", "Pune"): ("Haveli", "Mulshi", "Maval", "Baramati", "Junnar", "Shirur", "Daund",
                     "Indapur", "Khed"),
    ("MP", "Indore"): ("Indore", "Mhow", "Sanwer", "Depalpur"),
    ("GJ", "Ahmedabad"): ("Daskroi", "Sanand", "Dholka", "Bavla", "Viramgam", "Dhandhuka"),
    ("TN", "Coimbatore"): ("Pollachi", "Mettupalayam", "Sulur", "Annur", "Karamadai",
                           "Thondamuthur"),
    ("KL", "Ernakulam"): ("Aluva", "Kothamangalam", "Muvattupuzha", "Kochi", "Kanayannur",
                          "Paravur"),
    ("WB", "Hooghly"): ("Arambagh", "Singur", "Tarakeswar", "Pandua", "Chanditala I",
                        "Polba-Dadpur"),
}

# Codes that were valid before the 2020 DNH/DD merger and the 2023 ISO
# amendment; old forms and spreadsheets still carry them.
_LEGACY_CODES = {"OR": "OD", "TS": "TG", "UT": "UK", "CT": "CG", "DN": "DH", "DD": "DH"}

# Spellings people actually type, beyond the official English names. Keys are
# in folded form (see _fold_en): lower case, "&" spelled "and", single spaces.
_EN_VARIANTS = {
    "andaman and nicobar": "AN",
    "andaman": "AN",
    "orissa": "OD",
    "pondicherry": "PY",
    "nct of delhi": "DL",
    "national capital territory of delhi": "DL",
    "new delhi": "DL",
    "dadra and nagar haveli": "DH",
    "daman and diu": "DH",
    "uttaranchal": "UK",
    "chattisgarh": "CG",
    "chhatisgarh": "CG",
    "tamilnadu": "TN",
    "j and k": "JK",
}

_HI_VARIANTS = {
    "आन्ध्र प्रदेश": "AP",
    "अण्डमान और निकोबार द्वीपसमूह": "AN",
    "अंडमान और निकोबार": "AN",
    "अंडमान एवं निकोबार द्वीपसमूह": "AN",
    "जम्मू एवं कश्मीर": "JK",
    "जम्मू-कश्मीर": "JK",
    "झारखण्ड": "JH",
    "उत्तराखण्ड": "UK",
    "उड़ीसा": "OD",
    "ओड़िशा": "OD",
    "पांडिचेरी": "PY",
    "पुडुचेरी": "PY",
    "मिजोरम": "MZ",
    "तमिल नाडु": "TN",
    "नागालैण्ड": "NL",
    "चण्डीगढ़": "CH",
    "दादरा एवं नगर हवेली और दमन एवं दीव": "DH",
    "राष्ट्रीय राजधानी क्षेत्र दिल्ली": "DL",
}

_WHITESPACE = re.compile(r"\s+")


def _fold_en(text: str) -> str:
    text = text.replace("&", " and ")
    return _WHITESPACE.sub(" ", text).strip().casefold()


def _fold_hi(text: str) -> str:
    # NFC makes precomposed and decomposed nukta letters (ड़ vs ड + ़) equal.
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _name_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for state in STATES.values():
        index[_fold_en(state.name_en)] = state.code
        index[_fold_hi(state.name_hi)] = state.code
    for variant, code in _EN_VARIANTS.items():
        index[_fold_en(variant)] = code
    for variant, code in _HI_VARIANTS.items():
        index[_fold_hi(variant)] = code
    return index


_BY_NAME = _name_index()

_CODE = re.compile(r"(?:IN-)?([A-Z]{2})")


def resolve_state(text: str) -> str | None:
    """Return the state/UT code for a code, legacy code, English or Hindi name.

    Accepts the current ISO 3166-2:IN code in any case (with or without the
    ``IN-`` prefix), the pre-2023 codes (OR, TS, UT, CT) and the pre-merger DN
    and DD, the English name case-insensitively with ``&`` for "and" and
    extra whitespace folded, common older spellings (Orissa, Pondicherry, NCT
    of Delhi, …) and the Hindi name in any Unicode normalisation form.
    Anything else, including non-strings, gives ``None``.
    """
    if not isinstance(text, str):
        return None
    folded = _fold_hi(text)
    # isascii first: str.upper maps some non-ASCII letters to ASCII ones
    # ("ſ" becomes "S"), which would let lookalikes pass as codes.
    code_match = folded.isascii() and _CODE.fullmatch(folded.upper())
    if code_match:
        code = code_match.group(1)
        code = _LEGACY_CODES.get(code, code)
        return code if code in STATES else None
    return _BY_NAME.get(folded) or _BY_NAME.get(_fold_en(folded))


def state_name(code: str, lang: Literal["en", "hi"] = "en") -> str:
    """Name of the state or UT with this code; raises KeyError for an unknown code."""
    state = STATES[code]
    if lang == "hi":
        return state.name_hi
    if lang == "en":
        return state.name_en
    raise ValueError(f"unsupported language {lang!r}; use 'en' or 'hi'")
