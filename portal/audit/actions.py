"""The fixed vocabulary of audit actions.

Every audit event names one of these. Add new members here (grouped by
domain, dotted names `<subject>.<past-tense verb>`); `record()` refuses any
action that is not listed, so typos cannot create a new kind of event.
"""
from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # core / operations
    DEMO_LOADED = "system.demo_loaded"
    ADMIN_CREATED = "system.admin_created"

    # accounts
    USER_SIGNED_IN = "user.signed_in"
    USER_SIGN_IN_FAILED = "user.sign_in_failed"
    USER_SIGNED_OUT = "user.signed_out"
    USER_CREATED = "user.created"
    USER_EMAIL_VERIFIED = "user.email_verified"
    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_PASSWORD_RESET_REQUESTED = "user.password_reset_requested"
    USER_PASSWORD_RESET = "user.password_reset"
    USER_TOTP_ENROLLED = "user.totp_enrolled"
    USER_TOTP_DISABLED = "user.totp_disabled"
    USER_RECOVERY_CODE_USED = "user.recovery_code_used"
    USER_ROLES_CHANGED = "user.roles_changed"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_EMAIL_CHANGED = "user.email_changed"
    USER_DATA_EXPORTED = "user.data_exported"
    USER_PREFERENCES_CHANGED = "user.preferences_changed"
    USER_RECOVERY_CODES_RENEWED = "user.recovery_codes_renewed"
    STAFF_INVITED = "user.invited"
    STAFF_INVITATION_ACCEPTED = "user.invitation_accepted"
    ORGANISATION_REGISTERED = "organisation.registered"
    ORGANISATION_VERIFIED = "organisation.verified"
    ORGANISATION_REJECTED = "organisation.rejected"
    MEMBER_INVITED = "organisation.member_invited"
    MEMBER_JOINED = "organisation.member_joined"
    MEMBER_LEFT = "organisation.member_left"
    ORGANISATION_UPDATED = "organisation.updated"
    MAIL_FAILED = "mail.failed"

    # consultation
    CONSULTATION_CREATED = "consultation.created"
    CONSULTATION_DRAFT_CHANGED = "consultation.draft_changed"
    CONSULTATION_DOCUMENT_ADDED = "consultation.document_added"
    CONSULTATION_OPENED = "consultation.opened"
    CONSULTATION_CLOSED = "consultation.closed"
    CONSULTATION_EVALUATED = "consultation.evaluated"
    CONSULTATION_REPORT_PUBLISHED = "consultation.report_published"
    CONSULTATION_VERSION_PUBLISHED = "consultation.version_published"
    COMMENT_POSTED = "consultation_comment.posted"
    COMMENT_EDITED = "consultation_comment.edited"
    COMMENT_WITHDRAWN = "consultation_comment.withdrawn"
    COMMENT_HIDDEN = "consultation_comment.hidden"
    COMMENT_UNHIDDEN = "consultation_comment.unhidden"
    RESPONSE_DRAFTED = "consultation_response.drafted"
    # transparency (audit log itself)
    AUDIT_LOG_EXPORTED = "audit.log_exported"
    # calls
    CALL_CREATED = "call.created"
    CALL_DRAFT_CHANGED = "call.draft_changed"
    CALL_CHANGE_REFUSED = "call.change_refused"
    CALL_PUBLISHED = "call.published"
    CALL_AMENDED = "call.amended"
    CALL_SUBMISSION_CLOSED = "call.submission_closed"
    CALL_STATE_CHANGED = "call.state_changed"
    CALL_CANCELLED = "call.cancelled"
    CALL_DOCUMENT_ADDED = "call.document_added"
    CALL_DOCUMENT_REPLACED = "call.document_replaced"
    QUESTION_ASKED = "question.asked"
    QUESTION_REWORDED = "question.reworded"
    QUESTION_MERGED = "question.merged"
    QUESTION_ANSWERED = "question.answered"

    # bids
    BID_DRAFT_CREATED = "bid.draft_created"
    BID_VERSION_SUBMITTED = "bid.version_submitted"
    BID_WITHDRAWN = "bid.withdrawn"
    BID_ACCESS_REFUSED = "bid.access_refused"
    BID_CONTENT_READ = "bid.content_read"
    BID_OPENING_STARTED = "bid.opening_started"
    BID_OPENING_CONFIRMED = "bid.opening_confirmed"

    # review
    REVIEWER_ASSIGNED = "review.reviewer_assigned"
    REVIEWER_REMOVED = "review.reviewer_removed"
    REVIEW_CHAIR_NAMED = "review.chair_named"
    CONFLICT_DECLARED = "review.conflict_declared"
    ELIGIBILITY_DECIDED = "review.eligibility_decided"
    REVIEW_SUBMITTED = "review.submitted"
    REVIEW_REOPENED = "review.reopened"
    SCORE_CONSOLIDATED = "review.score_consolidated"
    CONSOLIDATION_CLOSED = "review.consolidation_closed"
    RANKING_FIXED = "review.ranking_fixed"
    TIE_DRAW_RECORDED = "review.draw_recorded"
    REVIEW_ACCESS_REFUSED = "review.access_refused"
    SCORES_EXPORTED = "review.scores_exported"

    # awards
    AWARD_POLICY_CHANGED = "award.policy_changed"
    AWARD_PROPOSED = "award.proposed"
    AWARD_RETURNED = "award.returned"
    AWARD_APPROVED = "award.approved"
    AWARD_LETTERS_SENT = "award.letters_sent"
    AWARD_LETTER_READ = "award.letter_read"
    AWARD_STANDSTILL_ENDED = "award.standstill_ended"
    AWARD_NOTICE_PUBLISHED = "award.notice_published"
    CANCELLATION_LETTERS_SENT = "award.cancellation_letters_sent"
    OBJECTION_LODGED = "objection.lodged"
    OBJECTION_ANSWERED = "objection.answered"
