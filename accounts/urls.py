from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.AccountView.as_view(), name="account"),
    path("login/verify/", views.LoginVerifyView.as_view(), name="login-verify"),
    path("two-factor/setup/", views.TwoFactorSetupView.as_view(), name="two-factor-setup"),
    path("two-factor/qr.svg", views.TwoFactorQRView.as_view(), name="two-factor-qr"),
    path("two-factor/disable/", views.TwoFactorDisableView.as_view(), name="two-factor-disable"),
]
