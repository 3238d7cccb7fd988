"""The rules the gate enforces, keyed by their ID in COMPLIANCE_RULES.md.

Each entry says what the rule guards and where it comes from, so a refusal can be
explained to the agent and a check row can be read by a lawyer years later. The
numbers the rules use live in the rule tables (``rulebook.py``), not here.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str


UNKNOWN_INPUT = Rule(
    "FC", "Unknown inputs fail closed: a call or text needs a valid number of this lead",
    "COMPLIANCE_RULES.md preamble; G2",
)
SUBSCRIPTION = Rule(
    "A1", "Registry data only under the brokerage's own, current subscription (SAN)", "15 U.S.C. 6152; 16 CFR 310.8",
)
FRESHNESS = Rule(
    "A3", "The registry version used is at most 31 days old on the call date",
    "16 CFR 310.4(b)(3)(iv); 47 CFR 64.1200(c)(2)(i)",
)
SAFE_HARBOR = Rule(
    "A4", "Written DNC procedures on file and every caller trained on them before phone outreach",
    "16 CFR 310.4(b)(3)(i)-(ii); 47 CFR 64.1200(c)(2)(i)(A)-(B)",
)
REGISTRY_DNC = Rule(
    "A5", "No calls or texts to a number on a Do Not Call registry the brokerage holds",
    "16 CFR 310.4(b)(1)(iii)(B), (b)(3); 47 CFR 64.1200(c)(2)",
)
LITIGATOR = Rule("A6", "No calls or texts to a number on a litigator list", "47 U.S.C. 227(c)(5)")
INTERNAL_DNC = Rule(
    "B1", "A request to stop is honoured at once, for every agent and channel",
    "16 CFR 310.4(b)(1)(iii)(A); 47 CFR 64.1200(d)(3)",
)
REVOCATION = Rule(
    "B4", "Consent is revoked by any reasonable means; ambiguous replies are reviewed", "47 CFR 64.1200(a)(10)-(12)",
)
RELATIONSHIP = Rule(
    "C1", "A registered number may be called under the brokerage's own established business relationship",
    "16 CFR 310.2(q), 310.4(b)(1)(iii)(B)(ii)",
)
OFFER_TO_BUY = Rule(
    "C4", "A pure offer to buy, with the brokerage's written opt-in, is warned rather than blocked",
    "Coffey v. Fast Easy Offer (D. Ariz. 2025); Aussieker v. Aghazadeh (E.D. Cal. 2025)",
)
CALLING_WINDOW = Rule(
    "D1", "No solicitation before 08:00 or after 21:00 in the called party's local time",
    "47 CFR 64.1200(c)(1); 16 CFR 310.4(c)",
)
ROLE_DISCLOSURE = Rule(
    "D3", "The caller states their name, brokerage and the purpose of the contact",
    "47 CFR 64.1200(d)(4); 16 CFR 310.4(d)",
)
PRERECORDED = Rule(
    "D4", "Artificial, prerecorded or AI voice needs prior express written consent", "FCC 24-17; 47 U.S.C. 227(b)",
)
AUTOMATED = Rule(
    "D5", "Texts and autodialed calls need prior express written consent naming the number",
    "47 U.S.C. 227(b); Fla. 501.059; 15 O.S. 775C.2; Md. CL 14-4502",
)
REASSIGNED_NUMBER = Rule(
    "D7", "No contact with a number that reaches someone else (reassigned)", "47 CFR 64.1200(m); FCC 18-177",
)
STATE_WINDOW = Rule(
    "E1", "The strictest window of every applicable state: area-code, property and mailing states",
    "COMPLIANCE_RULES.md table E",
)
FREQUENCY_CAP = Rule(
    "E2", "State caps on attempts per number in a rolling 24 hours, across the brokerage",
    "Fla. 501.616(6); 15 O.S. 775C.4; Md. CL 14-4502",
)
STATE_HOLIDAY = Rule("E3", "No solicitation calls on the holidays of states that forbid them", "Ala. Code 1-3-8")
TEXAS_REGISTRATION = Rule(
    "E4", "Phone (and, from 2025-09-01, text) solicitation of Texas numbers needs a Texas registration or exemption",
    "Tex. Bus. & Com. Code 302, 304.004; SB 140 (2025)",
)
ADVANCE_FEE = Rule(
    "F4", "No fee before the homeowner accepts the lender's written offer (licensee stay: F2)",
    "12 CFR 1015.5; FTC licensee stay 2011-07-15",
)
LANGUAGE = Rule("F6", "No deceptive promises: save your home, guaranteed, government program ...", "12 CFR 1015.3")
PRINCIPAL_DISCLOSURE = Rule(
    "F8", "A licensee buying for themselves discloses it, in writing before any offer",
    "NAR Code of Ethics Art. 4; 20 CSR 2250-8.110(1)",
)
TIME_ZONES = Rule(
    "G2", "Every candidate time zone must be inside the window; an unknowable zone blocks", "COMPLIANCE_RULES.md G2",
)

RULES = {
    rule.id: rule
    for rule in (
        UNKNOWN_INPUT, SUBSCRIPTION, SAFE_HARBOR, FRESHNESS, REGISTRY_DNC, LITIGATOR, INTERNAL_DNC, REVOCATION,
        RELATIONSHIP, OFFER_TO_BUY, CALLING_WINDOW, ROLE_DISCLOSURE, PRERECORDED, AUTOMATED,
        REASSIGNED_NUMBER, STATE_WINDOW, FREQUENCY_CAP, STATE_HOLIDAY, TEXAS_REGISTRATION, ADVANCE_FEE,
        LANGUAGE, PRINCIPAL_DISCLOSURE, TIME_ZONES,
    )
}
