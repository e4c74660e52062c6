

def test_routing_and_the_start_page_run_fixed_queries(client, tailwind, federation, django_assert_max_num_queries):
    from invitations.saml_routes import saml_route

    with django_assert_max_num_queries(1):
        route = saml_route(tenant=tailwind, email="someone@fabrikam.example")
    assert route.kind == "saml" and route.begin_url == saml.begin_url(federation)
    with django_assert_max_num_queries(1):
        assert saml_route(tenant=tailwind, email="someone@contoso.example") is None
    with django_assert_max_num_queries(6):
        assert client.get(saml.begin_url(federation)).status_code == 200


def test_a_ws_fed_configuration_is_not_routed_and_its_start_page_says_why(client, tailwind, federation):
    from invitations.saml_routes import saml_route

    services.saml_federation_update(actor=Actor.for_user(admin_of(tailwind)), federation=federation,
                                    changes={"preferredAuthenticationProtocol": "wsFed"})
    assert saml_route(tenant=tailwind, email=GUEST) is None
    response = client.get(saml.begin_url(federation))
    assert response.status_code == 501 and "WS-Fed" in response.context["message"]
