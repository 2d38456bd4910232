"""Tenants: the operator's view of companies (list, detail, deactivate / reactivate).

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.tenants.companies import (
    MAX_SEARCH_LENGTH,
    CompanyDetail,
    CompanySummary,
    company_detail,
    count_companies,
    list_companies,
    set_company_active,
)

__all__ = [
    "MAX_SEARCH_LENGTH",
    "CompanyDetail",
    "CompanySummary",
    "company_detail",
    "count_companies",
    "list_companies",
    "set_company_active",
]
