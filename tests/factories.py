import factory
from django.contrib.auth.hashers import make_password

from directory.models import Account, Application, AppRoleAssignment, Group, Role, RoleAssignment, Tenant, User

# Hashing with Argon2 for every factory account would dominate the test time; accounts made here
# share one pre-computed Argon2 hash of this password.
PASSWORD = "correct-horse-battery-staple"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        _HASH.append(make_password(PASSWORD))
    return _HASH[0]


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant{n}")
    initial_domain = factory.Sequence(lambda n: f"tenant{n}.example")
    privacy_statement_url = "https://example.com/privacy"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # As tenant_create does: the apps above give every new tenant its rows (settings, …).
        from directory.signals import tenant_created

        tenant = super()._create(model_class, *args, **kwargs)
        tenant_created.send(sender=Tenant, tenant=tenant)
        return tenant


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    email = factory.Sequence(lambda n: f"person{n}@people.example")
    display_name = factory.Faker("name")
    password = factory.LazyFunction(password_hash)


class UserFactory(factory.django.DjangoModelFactory):
    """A member, with an account that signs in with the UPN."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    user_type = User.UserType.MEMBER
    display_name = factory.Faker("name")
    user_principal_name = factory.LazyAttributeSequence(lambda o, n: f"user{n}@{o.tenant.initial_domain}")
    mail = factory.LazyAttribute(lambda o: o.user_principal_name)
    account = factory.LazyAttribute(lambda o: AccountFactory(email=o.user_principal_name))

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        # A tenant vouches for its members' addresses (as directory.services does for new members).
        if create and obj.account_id and obj.user_type == User.UserType.MEMBER:
            from allauth.account.models import EmailAddress

            EmailAddress.objects.get_or_create(
                user=obj.account, email=obj.account.email, defaults={"verified": True, "primary": True}
            )


class GuestFactory(UserFactory):
    user_type = User.UserType.GUEST
    mail = factory.Sequence(lambda n: f"guest{n}@partner.example")
    user_principal_name = factory.LazyAttribute(
        lambda o: f"{o.mail.replace('@', '_')}#EXT#@{o.tenant.initial_domain}"
    )
    external_user_state = User.ExternalUserState.PENDING_ACCEPTANCE
    creation_type = User.CreationType.INVITATION
    account = None


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    tenant = factory.SubFactory(TenantFactory)
    display_name = factory.Sequence(lambda n: f"Group {n}")


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    tenant = factory.SubFactory(TenantFactory)
    display_name = factory.Sequence(lambda n: f"App {n}")
    launch_url = "https://app.example.com"


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppRoleAssignment

    application = factory.SubFactory(ApplicationFactory)
    tenant = factory.LazyAttribute(lambda o: o.application.tenant)


def admin_of(tenant: Tenant, role: Role = Role.GLOBAL_ADMINISTRATOR) -> User:
    """A staff member of ``tenant`` who holds ``role`` there."""
    user = UserFactory(tenant=tenant)
    Account.objects.filter(pk=user.account_id).update(is_staff=True)
    user.account.refresh_from_db()
    RoleAssignment.objects.create(tenant=tenant, user=user, role=role)
    return user
