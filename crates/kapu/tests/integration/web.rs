//! The pages, driven like a browser: cookies, forms, redirects and CSRF tokens.

use reqwest::StatusCode;

use crate::both;
use crate::forms::{browser, csrf_of, log_in, page, post};
use crate::harness::{ADMIN, ADMIN_PW, App, link_token};

both!(
    the_login_page_speaks_hungarian_first_and_english_on_request,
    a_browser_logs_in_sees_the_launchpad_and_logs_out,
    forms_without_their_csrf_token_change_nothing,
    administrators_manage_users_through_the_pages,
    activation_and_forgotten_password_pages_set_a_password,
    an_expired_password_leads_to_the_change_page_first,
);

async fn the_login_page_speaks_hungarian_first_and_english_on_request(app: App) {
    let b = browser();
    let (s, html) = page(&b, &app, "/login").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<html lang=\"hu\">")
            && html.contains("Bejelentkezési név")
            && html.contains("Biztonsági")
    );
    assert!(html.contains("<label for=\"login\">") && html.contains("<label for=\"password\">"));
    let r = reqwest::Client::new()
        .get(app.url("/login"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Login name"));
    let r = b
        .get(app.url("/lang?to=en&back=/password/forgot"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/password/forgot",
        "back to the same page"
    );
    for outside in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let r = b
            .get(app.url(&format!("/lang?to=en&back={outside}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["location"],
            "/",
            "never to another site: {outside}"
        );
    }
    let (_, html) = page(&b, &app, "/login").await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Login mode"));
    let css = reqwest::get(app.url("/static/kapu.css")).await.unwrap();
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

async fn a_browser_logs_in_sees_the_launchpad_and_logs_out(app: App) {
    let b = browser();
    let (s, _, html) = log_in(&b, &app, ADMIN, "Rossz-Jelszo1", "normal").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        html.contains("error-summary") && html.contains("Hibás bejelentkezési név vagy jelszó")
    );
    assert!(
        html.contains("value=\"admin@kozpont\""),
        "the login name is kept"
    );
    let (s, _, html) = log_in(&b, &app, "nem jo", "x", "normal").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("href=\"#login\"") && html.contains("aria-invalid=\"true\""));

    let (s, location, _) = log_in(&b, &app, ADMIN, ADMIN_PW, "normal").await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/"));
    let (s, html) = page(&b, &app, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Központi Admin")
            && html.contains("admin@kozpont")
            && html.contains("Indítópult")
    );
    assert!(html.contains("/admin/users") && html.contains("/admin/tenants"));
    let (_, html) = page(&b, &app, "/profile").await;
    assert!(html.contains("Felhasználó karbantartó") && html.contains("120"));
    let csrf = csrf_of(&html);
    let (s, location, _) = post(&b, &app, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/login"));
    let (s, _) = page(&b, &app, "/").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "logged out");
}

async fn forms_without_their_csrf_token_change_nothing(app: App) {
    let b = browser();
    let (s, _, _) = post(
        &b,
        &app,
        "/login",
        &[("login", ADMIN), ("password", ADMIN_PW), ("mode", "secure")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = log_in(&b, &app, ADMIN, ADMIN_PW, "secure").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let form = [
        ("login", "csrf.nelkul"),
        ("full_name", "CSRF Nélkül"),
        ("email", "csrf@x.hu"),
    ];
    let (s, _, _) = post(&b, &app, "/admin/users/new?tenant=kozpont", &form).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/users/new?tenant=kozpont",
        &[
            ("csrf", "hamis"),
            ("login", "csrf.nelkul"),
            ("full_name", "X"),
            ("email", "csrf@x.hu"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = post(&b, &app, "/admin/users/kozpont/admin/lock", &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = app.admin().await;
    let (_, list) = app.get(&admin, "/api/v1/tenants/kozpont/users").await;
    assert_eq!(list["total"], 1, "nothing was created");
}

async fn administrators_manage_users_through_the_pages(app: App) {
    let b = browser();
    log_in(&b, &app, ADMIN, ADMIN_PW, "normal").await;
    let (_, html) = page(&b, &app, "/admin/users/new?tenant=kozpont").await;
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/users/new?tenant=kozpont",
        &[
            ("csrf", &csrf),
            ("login", "lap.lili"),
            ("full_name", "Lap Lili"),
            ("email", "lili@x.hu"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        html.contains("biztonsági bejelentkezés") && html.contains("/login?mode=secure"),
        "offers a secure login"
    );

    let b = browser();
    log_in(&b, &app, ADMIN, ADMIN_PW, "secure").await;
    let (_, html) = page(&b, &app, "/admin/users/new?tenant=kozpont").await;
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/users/new?tenant=kozpont",
        &[
            ("csrf", &csrf),
            ("login", "Lap Lili"),
            ("full_name", ""),
            ("email", "nem"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["login", "full_name", "email"] {
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{field} in the summary"
        );
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field} message next to it"
        );
    }
    let (s, location, _) = post(
        &b,
        &app,
        "/admin/users/new?tenant=kozpont",
        &[
            ("csrf", &csrf),
            ("login", "lap.lili"),
            ("full_name", "Lap Lili"),
            ("email", "lili@x.hu"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/admin/users/kozpont/lap.lili"));
    for (login, name) in [("abel.adam", "Ábel Ádám"), ("zold.zoltan", "Zöld Zoltán")] {
        post(
            &b,
            &app,
            "/admin/users/new?tenant=kozpont",
            &[
                ("csrf", &csrf),
                ("login", login),
                ("full_name", name),
                ("email", "u@x.hu"),
            ],
        )
        .await;
    }
    let (_, html) = page(&b, &app, "/admin/users?sort=full_name&order=asc").await;
    let (a, z) = (
        html.find("Ábel Ádám").unwrap(),
        html.find("Zöld Zoltán").unwrap(),
    );
    assert!(a < z, "accented names sort as Hungarians read them");
    let (_, html) = page(&b, &app, "/admin/users?q=zold").await;
    assert!(html.contains("Zöld Zoltán") && !html.contains("Lap Lili"));

    let (_, html) = page(&b, &app, "/admin/users/kozpont/lap.lili").await;
    assert!(html.contains("Aktiválásra vár"));
    let (s, location, _) = post(
        &b,
        &app,
        "/admin/users/kozpont/lap.lili",
        &[
            ("csrf", &csrf),
            ("full_name", "Lap Lilla"),
            ("email", "lilla@x.hu"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{location}");
    let (_, html) = page(&b, &app, &location).await;
    assert!(html.contains("Lap Lilla") && html.contains("A módosítást mentettük"));
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/users/kozpont/lap.lili/lock",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, "/admin/users/kozpont/lap.lili").await;
    assert!(html.contains("Zárolás feloldása"));
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/users/kozpont/lap.lili/password",
        &[("csrf", &csrf), ("new_password", "rovid")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"new_password-error\""));
    let (_, html) = page(&b, &app, "/admin/users/kozpont/lap.lili/delete").await;
    assert!(
        html.contains("nem adható ki"),
        "the confirmation explains what deletion means"
    );
    let (s, location, _) = post(
        &b,
        &app,
        "/admin/users/kozpont/lap.lili/delete",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, &location).await;
    assert!(!html.contains("lap.lili") && html.contains("A felhasználó törölve"));

    let (_, html) = page(&b, &app, "/admin/tenants/new").await;
    let csrf = csrf_of(&html);
    let (s, _, html) = post(
        &b,
        &app,
        "/admin/tenants/new",
        &[
            ("csrf", &csrf),
            ("code", "Győr"),
            ("name", "Győr"),
            ("admin_login", "fo.admin"),
            ("admin_full_name", "Fő Admin"),
            ("admin_email", "fo@gyor.hu"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"code-error\""));
    let (s, _, _) = post(
        &b,
        &app,
        "/admin/tenants/new",
        &[
            ("csrf", &csrf),
            ("code", "gyor"),
            ("name", "Győr"),
            ("admin_login", "fo.admin"),
            ("admin_full_name", "Fő Admin"),
            ("admin_email", "fo@gyor.hu"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&b, &app, "/admin/tenants").await;
    assert!(html.contains("Győr") && html.contains("/admin/tenants/gyor"));
}

async fn activation_and_forgotten_password_pages_set_a_password(app: App) {
    let admin = app.admin().await;
    app.send(
        "POST",
        &admin,
        "/api/v1/tenants/kozpont/users",
        serde_json::json!({"login": "uj.ugyfel", "full_name": "Új Ügyfél", "email": "uj@x.hu"}),
    )
    .await;
    let token = link_token(&app.mail_to("uj@x.hu", 1).await, "/activate");
    let b = browser();
    let (s, html) = page(&b, &app, &format!("/activate?token={token}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("uj.ugyfel@kozpont"));
    let csrf = csrf_of(&html);
    let path = format!("/activate?token={token}");
    let (s, _, html) = post(
        &b,
        &app,
        &path,
        &[
            ("csrf", &csrf),
            ("new_password", "Uj-Ugyfel-1"),
            ("confirm_password", "Uj-Ugyfel-2"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"confirm_password-error\""));
    let (s, _, _) = post(
        &b,
        &app,
        &path,
        &[
            ("csrf", &csrf),
            ("new_password", "Uj-Ugyfel-1"),
            ("confirm_password", "Uj-Ugyfel-1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, html) = page(&b, &app, &path).await;
    assert_eq!(s, StatusCode::GONE, "the link works once");
    assert!(html.contains("érvénytelen"));

    let (_, html) = page(&b, &app, "/password/forgot").await;
    let csrf = csrf_of(&html);
    let (s, _, known) = post(
        &b,
        &app,
        "/password/forgot",
        &[("csrf", &csrf), ("login", "uj.ugyfel@kozpont")],
    )
    .await;
    let (_, _, unknown) = post(
        &b,
        &app,
        "/password/forgot",
        &[("csrf", &csrf), ("login", "senki@kozpont")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let strip = |h: &str| h.replace(char::is_whitespace, "");
    assert_eq!(
        strip(&known),
        strip(&unknown),
        "the same page whether or not the account exists"
    );
    let token = link_token(&app.mail_to("uj@x.hu", 2).await, "/password/reset");
    let path = format!("/password/reset?token={token}");
    let (_, html) = page(&b, &app, &path).await;
    let (s, _, _) = post(
        &b,
        &app,
        &path,
        &[
            ("csrf", &csrf_of(&html)),
            ("new_password", "Uj-Ugyfel-3"),
            ("confirm_password", "Uj-Ugyfel-3"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, location, _) = log_in(&b, &app, "uj.ugyfel@kozpont", "Uj-Ugyfel-3", "normal").await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/"));
}

async fn an_expired_password_leads_to_the_change_page_first(app: App) {
    let admin = app.admin().await;
    app.user(&admin, "kozpont", "lejart.lajos", "Lejart-Lajos1")
        .await;
    app.days(111);
    let b = browser();
    let (_, location, _) =
        log_in(&b, &app, "lejart.lajos@kozpont", "Lejart-Lajos1", "normal").await;
    assert_eq!(location, "/password/warning");
    let (_, html) = page(&b, &app, "/password/warning").await;
    assert!(
        html.contains("name=\"silence\""),
        "the early warning can be silenced"
    );
    app.days(10);
    let b = browser();
    let (_, location, _) =
        log_in(&b, &app, "lejart.lajos@kozpont", "Lejart-Lajos1", "normal").await;
    assert_eq!(location, "/password/change");
    let (s, location) = {
        let r = b.get(app.url("/")).send().await.unwrap();
        (
            r.status(),
            r.headers()["location"].to_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, "/password/change"),
        "nothing else before the change"
    );
    let (_, html) = page(&b, &app, "/password/change").await;
    assert!(html.contains("lejárt"));
    let csrf = csrf_of(&html);
    let (s, _, _) = post(
        &b,
        &app,
        "/password/change",
        &[
            ("csrf", &csrf),
            ("current_password", "Lejart-Lajos1"),
            ("new_password", "Friss-Lajos2"),
            ("confirm_password", "Friss-Lajos2"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = page(&b, &app, "/").await;
    assert_eq!(s, StatusCode::OK);
}
