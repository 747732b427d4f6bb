"""/dashboard/settings[/escalation|/team|/billing] and the invitation accept link."""

from django.urls import path

from apps.stores import views

urlpatterns = [
    path("dashboard/settings", views.general, name="dashboard-settings"),
    path(
        "dashboard/settings/identity-secret", views.identity_secret_rotate, name="dashboard-identity-rotate"
    ),
    path("dashboard/settings/delete", views.store_delete, name="dashboard-store-delete"),
    path("dashboard/settings/escalation", views.escalation, name="dashboard-settings-escalation"),
    path("dashboard/settings/team", views.team, name="dashboard-settings-team"),
    path("dashboard/settings/team/invite", views.team_invite, name="dashboard-team-invite"),
    path(
        "dashboard/settings/team/invitations/<uuid:invitation_id>/revoke",
        views.team_invitation_revoke,
        name="dashboard-team-invitation-revoke",
    ),
    path(
        "dashboard/settings/team/members/<int:membership_id>/role",
        views.team_member_role,
        name="dashboard-team-member-role",
    ),
    path(
        "dashboard/settings/team/members/<int:membership_id>/remove",
        views.team_member_remove,
        name="dashboard-team-member-remove",
    ),
    path("dashboard/settings/billing", views.billing, name="dashboard-settings-billing"),
    path("dashboard/settings/billing/plan", views.billing_plan, name="dashboard-billing-plan"),
    path("invitations/<str:store_id>/<str:key>", views.invitation_accept, name="invitation-accept"),
]
