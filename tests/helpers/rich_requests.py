"""Authorization details validators and settings for the rich request tests (RFC 9396)."""

from __future__ import annotations

import json
from typing import Any

from django_par.errors import InvalidRequest

PAYMENT = {
    "type": "payment_initiation",
    "actions": ["initiate"],
    "locations": ["https://bank.example.org/payments"],
    "instructedAmount": {"currency": "EUR", "amount": "123.50"},
    "creditorName": "Merchant A",
    "creditorAccount": {"iban": "DE02100100109307118603"},
}
ACCOUNTS = {"type": "account_information", "actions": ["list_accounts", "read_balances"]}

TYPES = {
    "payment_initiation": "tests.helpers.rich_requests.payment_initiation",
    "account_information": "tests.helpers.rich_requests.account_information",
    "refused_by_oauth_error": "tests.helpers.rich_requests.refused_by_oauth_error",
}
RICH_SETTINGS = {"AUTHORIZATION_DETAILS_TYPES": TYPES}


def payment_initiation(element: dict[str, Any], client: Any) -> dict[str, Any]:
    """Needs an amount as a decimal string; stores the known fields only."""
    amount = element.get("instructedAmount")
    if not isinstance(amount, dict) or not isinstance(amount.get("amount"), str):
        raise ValueError("payment_initiation needs instructedAmount.amount as a string.")
    known = ("type", "actions", "locations", "instructedAmount", "creditorName", "creditorAccount")
    return {name: element[name] for name in known if name in element}


def account_information(element: dict[str, Any], client: Any) -> dict[str, Any]:
    return element


def refused_by_oauth_error(element: dict[str, Any], client: Any) -> dict[str, Any]:
    raise InvalidRequest(f"{client.client_id} may not ask for this.")


def details_json(*elements: dict[str, Any]) -> str:
    return json.dumps(list(elements))


def returns_another_type(element: dict[str, Any], client: Any) -> dict[str, Any]:
    return {**element, "type": "something_else"}


def returns_no_json(element: dict[str, Any], client: Any) -> dict[str, Any]:
    return {**element, "when": object()}
