"""The example's one authorization_details type (RFC 9396): a payment to initiate.

Named in ``DJANGO_PAR["AUTHORIZATION_DETAILS_TYPES"]``; django_par calls it with each
pushed element of this type and the client, and stores what it returns.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

CURRENCIES = {"EUR", "GBP", "USD"}


def payment_initiation(element: dict[str, Any], client: Any) -> dict[str, Any]:
    """An amount in a known currency and a named creditor; nothing else is kept."""
    amount = element.get("instructedAmount")
    if not isinstance(amount, dict) or amount.get("currency") not in CURRENCIES:
        raise ValueError("instructedAmount needs a currency among EUR, GBP and USD.")
    try:
        value = Decimal(str(amount.get("amount")))
    except InvalidOperation:
        raise ValueError("instructedAmount.amount must be a decimal number.") from None
    if not value.is_finite() or value <= 0 or value > 10000:
        raise ValueError("instructedAmount.amount must be above 0 and at most 10000.")
    creditor = element.get("creditorName")
    if not isinstance(creditor, str) or not 0 < len(creditor) <= 70:
        raise ValueError("creditorName must be a name of 1 to 70 characters.")
    return {
        "type": "payment_initiation",
        "actions": ["initiate"],
        "instructedAmount": {"currency": amount["currency"], "amount": f"{value:.2f}"},
        "creditorName": creditor,
    }
