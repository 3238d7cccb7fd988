"""The rules the gate enforces, each with its code (A4, D3, ...), a one-line title, an
explanation in plain English and where it comes from.

Each entry says what the rule guards and where it comes from, so a refusal can be
explained to the agent and a check row can be read by a lawyer years later; the rules
page (``compliance:rules``) lists them all, and every code shown in the app links to its
entry there. The numbers the rules use live in the rule tables (``rulebook.py``), not
here: the page shows the ones in force. docs/compliance-rules.md is the developer's version:
what the code checks for each rule and where (e.g. docs/compliance-rules.md#d1).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str
    explanation: str = ""
    # What the gate does when the rule applies: "blocks", "warns", "blocks or warns", or
    # "" for a rule applied outside the gate (fees, offers, contracts).
    effect: str = "blocks"

    @property
    def section(self) -> str:
        return SECTIONS.get(self.id[0], "Other") if self.id != "FC" else SECTIONS["FC"]


SECTIONS = {
    "FC": "Before anything else",
    "A": "Do Not Call registries and the brokerage's procedures",
    "B": "Requests to stop",
    "C": "When a listed number may still be called",
    "D": "How and when to call or text",
    "E": "State rules",
    "F": "Fees, promises and buying for yourself",
    "G": "Time zones",
}

UNKNOWN_INPUT = Rule(
    "FC", "Unknown inputs fail closed: a call or text needs a valid number of this lead",
    "The brokerage's own policy: the legal defences for a call that reached a listed number rest on proof "
    "that every rule was checked, so a contact that cannot be checked is not made",
    "The gate only allows what it can check. A call or text needs a phone number that can be dialled and "
    "belongs to one of this lead's owners; an email, one of their email addresses; a letter, an owner's "
    "mailing address; a visit, the property. Anything else is refused before the other rules are asked.",
)
SUBSCRIPTION = Rule(
    "A1", "Registry data only under the brokerage's own, current subscription (SAN)", "15 U.S.C. 6152; 16 CFR 310.8",
    "Do Not Call data may only be used under the brokerage's own paid account with the National Do Not Call "
    "Registry (its subscription account number, SAN), renewed every twelve months, and never shared with "
    "another company. Once the subscription has lapsed, calls and texts stop until it is renewed.",
)
FRESHNESS = Rule(
    "A3", "The registry version used is at most 31 days old on the call date",
    "16 CFR 310.4(b)(3)(iv); 47 CFR 64.1200(c)(2)(i)",
    "The national registry changes every day, so the copy used for a number's area code must have been "
    "downloaded recently: at most 31 days before the call. From day 21 the gate warns that a fresh download "
    "is due; with no data at all for the area code, the call is refused.",
    effect="blocks or warns",
)
SAFE_HARBOR = Rule(
    "A4", "Written DNC procedures on file and every caller trained on them before phone outreach",
    "16 CFR 310.4(b)(3)(i)-(ii); 47 CFR 64.1200(c)(2)(i)(A)-(B)",
    "The brokerage keeps written Do Not Call procedures and trains everyone who calls on them. Until the "
    "broker has published the procedures and the caller has acknowledged the version in force (Compliance › "
    "DNC procedures), that caller's calls and texts are refused.",
)
REGISTRY_DNC = Rule(
    "A5", "No calls or texts to a number on a Do Not Call registry the brokerage holds",
    "16 CFR 310.4(b)(1)(iii)(B), (b)(3); 47 CFR 64.1200(c)(2)",
    "A number on the National Do Not Call Registry, or on a state's do-not-call list the brokerage holds, is "
    "not called or texted to offer services, unless the brokerage's own relationship with the homeowner (C1) "
    "or a pure offer to buy (C4) applies. The check names the list and the version that matched.",
)
LITIGATOR = Rule(
    "A6", "No calls or texts to a number on a litigator list", "47 U.S.C. 227(c)(5) (the private right of action)",
    "A litigator list names people who often sue over telemarketing. The brokerage does not call or text "
    "those numbers at all, whatever else would allow it.",
)
INTERNAL_DNC = Rule(
    "B1", "A request to stop is honoured at once, for every agent and channel",
    "16 CFR 310.4(b)(1)(iii)(A); 47 CFR 64.1200(d)(3)",
    "When a homeowner asks the brokerage to stop, the request goes on the internal do-not-contact list at "
    "once and binds every agent from that moment: by phone it covers that number, by email that address, by "
    "mail that mailing address, and said at the door, every number and address of the lead's owners. An owner "
    "marked Do Not Mail gets no letters. Entries are never edited or removed.",
)
AGENT_LIST = Rule(
    "B3", "Washington: an agent's own do-not-call list, on top of the brokerage's",
    "RCW 80.36.390; RCW 19.158.040(6)",
    "Washington treats each agent who keeps a list of their own as a company of its own. A stop made to an "
    "agent goes on that agent's own list as well as the brokerage's, and an agent may add numbers to it (a "
    "list brought from another brokerage). When Washington may apply to the homeowner, the agent cannot call "
    "or text a number on their own list, or email an address on it, even once the brokerage's entry no "
    "longer blocks; a stop stays on the agent's list for at least a year, and the brokerage cannot lift it.",
)
REVOCATION = Rule(
    "B4", "Consent is revoked by any reasonable means; ambiguous replies are reviewed",
    "47 CFR 64.1200(a)(10)-(12)",
    "A homeowner can take back consent in any reasonable way: STOP, QUIT, END, REVOKE, OPT OUT, CANCEL, "
    "UNSUBSCRIBE, or plain words such as \u201cdon't call me\u201d. Clear requests are recorded at once (B1). "
    "Unclear ones (\u201cwrong number\u201d, \u201cno m\u00e1s\u201d, a misspelt STOP) wait for a broker's review, "
    "and the number carries a warning meanwhile. After a stop, one text confirming it, with no marketing, may "
    "be sent within the short window in force. A homeowner who texted STOP and later texts START (or UNSTOP) "
    "from the same number may be texted again, never called; a stop said any other way, decided on review, "
    "asking for no contact at all, or made after the START still stands.",
    effect="blocks or warns",
)
RELATIONSHIP = Rule(
    "C1", "A registered number may be called under the brokerage's own established business relationship",
    "16 CFR 310.2(q), 310.4(b)(1)(iii)(B)(ii)",
    "A number on a Do Not Call list may still be called when the homeowner has a relationship with the "
    "brokerage itself: an inquiry or application within the last three months (and 90 days), or a purchase, "
    "delivery or payment within the last 18 months. A list vendor's or another company's relationship never "
    "carries over. Such a call is allowed with a warning that says which relationship allowed it.",
    effect="warns",
)
STATE_RELATIONSHIP = Rule(
    "C2", "A state may shorten the transaction relationship (Washington: 12 months), or extend an ended one (Texas)",
    "Each state's statute, named on its row of the state calling rules; Tex. Bus. & Com. Code 304.004",
    "Where a state allows a shorter window for the purchase relationship of C1 than the federal 18 months, "
    "the shortest window of the states that apply to the homeowner is used. A relationship that ended allows "
    "no call from that day, except on the Texas no-call list for a Texas homeowner: there it still counts "
    "until a year after it ended, or until the first Texas list naming the number after that, whichever is "
    "later.",
    effect="",
)
OFFER_TO_BUY = Rule(
    "C4", "A pure offer to buy, with the brokerage's written opt-in, is warned rather than blocked",
    "Coffey v. Fast Easy Offer (D. Ariz. 2025); Aussieker v. Aghazadeh (E.D. Cal. 2025)",
    "Courts have differed on whether a call that only offers to buy the house, with no pitch for listing "
    "services, is a telephone solicitation. If the broker has opted in writing to treat such calls that "
    "way, a pure offer to a lead never pitched services is allowed with a warning instead of blocked by A5.",
    effect="warns",
)
CALLING_WINDOW = Rule(
    "D1", "No solicitation before 08:00 or after 21:00 in the called party's local time",
    "47 CFR 64.1200(c)(1); 16 CFR 310.4(c)",
    "Calls and texts only between 8 a.m. and 9 p.m. where the homeowner is. The outreach form shows the "
    "homeowner's local time in each of their possible time zones (G2), and a follow-up set for a closed "
    "window moves to the moment it opens.",
)
CALLER_ID = Rule(
    "D2", "A call placed through the app shows a working number of ours that takes a stop",
    "47 CFR 64.1601(e); 16 CFR 310.4(a)(8)",
    "A call placed from the CRM shows one of the brokerage's own numbers, never a blocked or borrowed one, "
    "and that number answers: a homeowner who calls it back hears who we are and can stop every call and "
    "text by pressing 1 or saying stop. A number the provider does not route to that line is not used.",
)
ROLE_DISCLOSURE = Rule(
    "D3", "The caller states their name, brokerage and the purpose of the contact",
    "47 CFR 64.1200(d)(4); 16 CFR 310.4(d)",
    "On every contact the agent says who they are, which brokerage they work for, and why they are reaching "
    "out, in the words the form shows. The agent confirms it by ticking the disclosure box when logging the "
    "attempt; the live verdict says \u201cclear once you have said who you are\u201d until then.",
)
PRERECORDED = Rule(
    "D4", "Artificial, prerecorded or AI voice needs prior express written consent", "FCC 24-17; 47 U.S.C. 227(b)",
    "A call with a prerecorded, artificial or AI-generated voice needs the homeowner's prior express written "
    "consent, signed and naming the number called.",
)
AUTOMATED = Rule(
    "D5", "Texts and autodialed calls need prior express written consent naming the number",
    "47 U.S.C. 227(b); Fla. Stat. 501.059; 15 O.S. 775C.2; Md. Com. Law 14-4502",
    "A text, or a call placed by an autodialer or by automatic selection of numbers, needs the homeowner's "
    "prior express written consent naming that number. Several states (Florida, Oklahoma, Maryland) require "
    "it for automated contact too.",
)
ABANDONMENT = Rule(
    "D6", "No automated dialing in the app; a call from an agent's own dialer keeps the abandonment limits",
    "47 CFR 64.1200(a)(6)-(7); 16 CFR 310.4(b)(4)",
    "The app places calls only by hand, one at a time, so it never abandons a call. A dialer that calls "
    "several numbers at once may leave an answered call with nobody on the line: at most 3% of answered "
    "calls in a 30-day campaign, each with a short message naming the caller within 2 seconds, and every "
    "call rings at least 15 seconds or four rings. A call logged as placed by an agent's own autodialer is "
    "recorded with a warning naming those limits, which only that dialer's records can show were kept.",
    effect="warns",
)
REASSIGNED_NUMBER = Rule(
    "D7", "No contact with a number that reaches someone else (reassigned)", "47 CFR 64.1200(m); FCC 18-177",
    "Consent belongs to a person, not a number. When the Reassigned Numbers Database says a consented number "
    "was disconnected after the consent date, or an agent marked it as reaching someone else, it is not "
    "contacted; \u201cno data\u201d or no check in 30 days gives a warning.",
    effect="blocks or warns",
)
RECORDING = Rule(
    "D8", "Recorded calls: announced, and every party's consent where a state requires it",
    "18 U.S.C. 2511(2)(d); Cal. Penal Code 632, 632.7; Fla. Stat. 934.03; 720 ILCS 5/14-2; Md. Code CJP 10-402; "
    "Mass. Gen. Laws ch. 272, 99; Mont. Code 45-8-213; N.H. RSA 570-A:2; 18 Pa.C.S. 5704; RCW 9.73.030; "
    "Conn. Gen. Stat. 52-570d",
    "Calls are not recorded unless the broker turns recording on. Then every recorded call starts with an "
    "announcement that it is recorded. Where any state that may apply to the homeowner or the office requires "
    "every party's consent (California, Florida, Illinois, Maryland, Massachusetts, Pennsylvania, Washington "
    "and others, listed in the rule parameters), the call is recorded only once the homeowner has agreed on "
    "the call, as the script asks; otherwise it is not recorded.",
    effect="",
)
STATE_WINDOW = Rule(
    "E1", "The strictest window of every applicable state: area-code, property and mailing states",
    "Each state's telemarketing statute, named on its row of the state calling rules (e.g. Fla. Stat. 501.616, "
    "15 O.S. 775C.4)",
    "Some states allow fewer hours than the federal 8 a.m. to 9 p.m. (Florida, Oklahoma, Maryland and "
    "Washington 8 a.m. to 8 p.m.; Texas 9 a.m. to 9 p.m., on Sundays from noon). Every state that may apply "
    "counts: the number's area code, the property's state and the mailing address's state, and the "
    "strictest window wins.",
)
FREQUENCY_CAP = Rule(
    "E2", "State caps on attempts per number in a rolling 24 hours, across the brokerage",
    "Fla. Stat. 501.616(6); 15 O.S. 775C.4; Md. Com. Law 14-4502",
    "Florida, Oklahoma and Maryland allow only a few attempts to one number in any 24 hours (Maryland "
    "counts texts too), whoever in the brokerage makes them. The attempt over the cap is refused.",
)
STATE_HOLIDAY = Rule(
    "E3", "No solicitation calls on the holidays of states that forbid them", "Ala. Code 1-3-8; each state's statute, named on its holidays",
    "Some states forbid solicitation calls on their legal holidays, and some on Sundays. The gate keeps each "
    "state's holidays as observed (moved off weekends) and refuses calls on them.",
)
TEXAS_REGISTRATION = Rule(
    "E4", "Phone (and, from 2025-09-01, text) solicitation of Texas numbers needs a Texas registration or exemption",
    "Tex. Bus. & Com. Code 302, 304.004; SB 140 (2025)",
    "Calling Texas homeowners to offer services needs the brokerage's Texas telephone-solicitation "
    "registration, or an exemption, on file; from September 1, 2025 the same applies to texts.",
)
LICENSEE_STAY = Rule(
    "F2", "A licensee selling the home is outside the advance-fee rules for the short sale",
    "12 CFR 1015; the FTC's stay of enforcement for real-estate licensees (July 15, 2011)",
    "Regulation O's advance-fee ban and disclosures do not apply to a real-estate licensee in good standing "
    "who helps with a short sale in the course of selling the home. They still apply to anything else, such "
    "as a loan modification.",
    effect="",
)
DISCLOSURES = Rule(
    "F3", "Regulation O's disclosures, where the licensee stay does not apply",
    "12 CFR 1015.4",
    "Outside the licensee stay (F2) (an investor buying for themselves, a licence that is not active, a "
    "loan modification), every text, email, letter and template to a homeowner carries a notice headed "
    "\u201cIMPORTANT NOTICE\u201d: we are not the government and not approved by it or the lender; the total "
    "fee; the homeowner may stop at any time, may accept or reject the lender's offer and owes nothing if they "
    "reject it; and the warnings when the words suggest a sure result or stopping payments. A call script "
    "opens with \u201cBefore using this service, consider the following information.\u201d A text, email or "
    "template without them is not sent or saved; the refusal names the missing sentence and one click inserts "
    "the standard notice.",
    effect="blocks or warns",
)
REPRESENTATIONS = Rule(
    "F5", "No telling the homeowner not to contact their lender; no misleading odds, timing, affiliation or refunds",
    "12 CFR 1015.3",
    "Nobody tells a homeowner not to contact, call or answer their lender or servicer, or misrepresents how "
    "likely or how soon a result is (\u201capproved in 30 days\u201d, \u201c9 out of 10 approved\u201d), an "
    "affiliation with the government, HUD or the lender (\u201con behalf of your lender\u201d), or refund terms "
    "(\u201cmoney-back guarantee\u201d). This applies to everyone, under the licensee stay too. A text, email "
    "or template saying so is not sent or saved; a note of a call gets a warning.",
    effect="blocks or warns",
)
ADVANCE_FEE = Rule(
    "F4", "No fee before the homeowner accepts the lender's written offer (licensee stay: F2)",
    "12 CFR 1015.5; FTC licensee stay 2011-07-15",
    "No fee for mortgage assistance may be asked for or taken before the homeowner has accepted the "
    "lender's written offer, unless the licensee stay (F2) applies. A fee is written down first and marked "
    "due or paid only once the homeowner's acceptance is recorded on the lender's approval letter.",
    effect="",
)
LANGUAGE = Rule(
    "F6", "No deceptive promises: save your home, guaranteed, government program ...", "12 CFR 1015.3",
    "Nobody promises what only a lender decides: \u201csave your home\u201d, \u201cguaranteed\u201d, \u201cstop "
    "foreclosure\u201d, \u201cgovernment program\u201d and the like. A note containing such a phrase gets a "
    "warning; a template or the guide containing one is not saved, with the phrases marked.",
    effect="warns",
)
EQUITY_PURCHASE = Rule(
    "F7", "California: an equity seller may cancel a purchase contract for five business days",
    "Cal. Civ. Code 1695.4",
    "When a licensee buys a California home in foreclosure from its owner, the owner may cancel until "
    "midnight of the fifth business day after signing (Sundays and holidays do not count), or until 8 a.m. "
    "on the day of the foreclosure sale if that comes first. On an investor's signed purchase the offers page "
    "shows the deadline, and the lead cannot move to Close or Closed before it.",
    effect="",
)
PRINCIPAL_DISCLOSURE = Rule(
    "F8", "A licensee buying for themselves discloses it, in writing before any offer",
    "NAR Code of Ethics Art. 4; 20 CSR 2250-8.110(1)",
    "An agent who buys for themselves (as principal) tells the homeowner in writing that they are licensed "
    "and are buying for their own account, before any offer. Calls carry a warning until the written "
    "disclosure is recorded; an offer is neither recorded nor accepted without it.",
    effect="blocks or warns",
)
TIME_ZONES = Rule(
    "G2", "Every candidate time zone must be inside the window; an unknowable zone blocks",
    "47 CFR 64.1200(c)(1) and the state windows (E1), applied to every place the homeowner may be",
    "A homeowner may be in any of several time zones: the phone's area code, the property and the mailing "
    "address may each point to a different one. A call is allowed only when it is inside the window in all "
    "of them; when no zone can be told at all, it is refused.",
)

RULES = {
    rule.id: rule
    for rule in (
        UNKNOWN_INPUT, SUBSCRIPTION, SAFE_HARBOR, FRESHNESS, REGISTRY_DNC, LITIGATOR, INTERNAL_DNC, AGENT_LIST,
        REVOCATION, RELATIONSHIP, STATE_RELATIONSHIP, OFFER_TO_BUY, CALLING_WINDOW, CALLER_ID, ROLE_DISCLOSURE,
        PRERECORDED, AUTOMATED, ABANDONMENT, REASSIGNED_NUMBER, RECORDING, STATE_WINDOW, FREQUENCY_CAP,
        STATE_HOLIDAY, TEXAS_REGISTRATION, LICENSEE_STAY, DISCLOSURES, ADVANCE_FEE, REPRESENTATIONS, LANGUAGE,
        EQUITY_PURCHASE, PRINCIPAL_DISCLOSURE, TIME_ZONES,
    )
}


def rules_in_order() -> list[Rule]:
    """Every rule, in the order of its code: FC first, then A1 ... G2."""
    return sorted(RULES.values(), key=lambda rule: ("" if rule.id == "FC" else rule.id))
