"""The rules the gate enforces today, keyed by their ID in COMPLIANCE_RULES.md.

Each entry says what the rule guards and where it comes from, so a refusal can be
explained to the agent and a check row can be read by a lawyer years later.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    source: str


UNKNOWN_INPUT = Rule(
    "FC",
    "Unknown inputs fail closed: a call or text needs a valid number on this lead",
    "COMPLIANCE_RULES.md preamble; G2",
)
REGISTRY_DNC = Rule(
    "A4",
    "No calls or texts to a number on a Do Not Call registry the brokerage holds",
    "16 CFR 310.4(b)(1)(iii)(B), (b)(3); 47 CFR 64.1200(c)(2)",
)
LITIGATOR = Rule(
    "A6",
    "No calls or texts to a number on a litigator list",
    "47 U.S.C. 227(c)(5) private right of action",
)
INTERNAL_DNC = Rule(
    "B1",
    "A request to stop is honoured at once, for every agent and channel",
    "16 CFR 310.4(b)(1)(iii)(A); 47 CFR 64.1200(d)(3)",
)
REASSIGNED_NUMBER = Rule(
    "D7",
    "No calls to a number known to reach someone other than the owner (reassigned)",
    "47 CFR 64.1200(m); FCC 18-177",
)
ROLE_DISCLOSURE = Rule(
    "D3",
    "The caller states their name, brokerage and the purpose of the contact",
    "47 CFR 64.1200(d)(4); 16 CFR 310.4(d)",
)
PRINCIPAL_DISCLOSURE = Rule(
    "F8",
    "A licensee buying for themselves says so before anything else",
    "NAR Code of Ethics Art. 4; 20 CSR 2250-8.110(1)",
)

RULES = {rule.id: rule for rule in (
    UNKNOWN_INPUT, REGISTRY_DNC, LITIGATOR, INTERNAL_DNC, REASSIGNED_NUMBER, ROLE_DISCLOSURE, PRINCIPAL_DISCLOSURE,
)}
