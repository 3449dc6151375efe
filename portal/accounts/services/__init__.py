"""Every change to accounts, organisations and invitations goes through here.

Services take the acting user as keyword-only `by` (where there is one),
flush but never commit, write their audit event through `record()` in the
same transaction, and raise `Refused` with a German sentence when a rule
forbids the action.
"""
from portal.accounts.services.invitations import (
    accept_member_invitation,
    accept_staff_invitation,
    find_invitation,
    invite_member,
    invite_staff,
)
from portal.accounts.services.organisations import (
    leave_organisation,
    register_organisation,
    reject_organisation,
    set_organisation_status,
    update_organisation,
    verify_organisation,
)
from portal.accounts.services.twofactor import (
    check_second_factor,
    disable_totp,
    enable_totp,
)
from portal.accounts.services.users import (
    SignInResult,
    attempt_sign_in,
    change_password,
    change_roles,
    complete_sign_in,
    confirm_email_change,
    confirm_identity,
    export_personal_data,
    find_user_by_email,
    normalise_email,
    request_email_change,
    request_password_reset,
    reset_password,
    send_email_verification,
    set_user_active,
    sign_out,
    update_preferences,
    verify_email,
)

__all__ = [
    "SignInResult",
    "accept_member_invitation",
    "accept_staff_invitation",
    "attempt_sign_in",
    "change_password",
    "change_roles",
    "check_second_factor",
    "complete_sign_in",
    "confirm_email_change",
    "confirm_identity",
    "disable_totp",
    "enable_totp",
    "export_personal_data",
    "find_invitation",
    "find_user_by_email",
    "invite_member",
    "invite_staff",
    "leave_organisation",
    "normalise_email",
    "register_organisation",
    "reject_organisation",
    "request_email_change",
    "request_password_reset",
    "reset_password",
    "send_email_verification",
    "set_organisation_status",
    "set_user_active",
    "sign_out",
    "update_organisation",
    "update_preferences",
    "verify_email",
    "verify_organisation",
]
