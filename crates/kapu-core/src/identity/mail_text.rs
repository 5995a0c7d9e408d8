//! The e-mails Kapu sends, Hungarian first and English below.

pub struct MailText {
    pub subject: String,
    pub body: String,
}

pub fn activation(full_name: &str, full_login: &str, link: &str, hours: i64) -> MailText {
    MailText {
        subject: "Kapu – fiók aktiválása / account activation".into(),
        body: format!(
            "Kedves {full_name}!\n\n\
             Kapu fiókja elkészült. Bejelentkezési neve: {full_login}\n\
             Jelszavát az alábbi hivatkozáson állíthatja be ({hours} óráig érvényes):\n\n{link}\n\n\
             Ha nem Ön kérte, hagyja figyelmen kívül ezt a levelet.\n\n\
             ---\n\n\
             Dear {full_name},\n\n\
             Your Kapu account is ready. Your login name: {full_login}\n\
             Set your password at this link (valid for {hours} hours):\n\n{link}\n"
        ),
    }
}

pub fn password_reset(full_name: &str, full_login: &str, link: &str, minutes: i64) -> MailText {
    MailText {
        subject: "Kapu – elfelejtett jelszó / forgotten password".into(),
        body: format!(
            "Kedves {full_name}!\n\n\
             Új jelszót kértek a(z) {full_login} fiókhoz. Az alábbi hivatkozáson állíthatja be \
             ({minutes} percig érvényes, egyszer használható):\n\n{link}\n\n\
             Ha nem Ön kérte, hagyja figyelmen kívül ezt a levelet; jelszava nem változik.\n\n\
             ---\n\n\
             Dear {full_name},\n\n\
             A new password was requested for {full_login}. Set it at this link \
             (valid for {minutes} minutes, usable once):\n\n{link}\n\n\
             If you did not ask for this, ignore this message; your password stays as it is.\n"
        ),
    }
}

pub fn password_changed(full_name: &str, full_login: &str) -> MailText {
    MailText {
        subject: "Kapu – jelszava megváltozott / your password was changed".into(),
        body: format!(
            "Kedves {full_name}!\n\n\
             A(z) {full_login} fiók jelszava megváltozott. Ha nem Ön változtatta meg, \
             azonnal értesítse a felhasználói adminisztrátort.\n\n\
             ---\n\n\
             Dear {full_name},\n\n\
             The password of {full_login} was changed. If it was not you, tell your user \
             administrator at once.\n"
        ),
    }
}

pub fn temporary_permit(full_name: &str, full_login: &str, until: &str) -> MailText {
    MailText {
        subject: "Kapu – ideiglenes engedély / temporary permit".into(),
        body: format!(
            "Kedves {full_name}!\n\n\
             A(z) {full_login} fiók ideiglenes engedélyt kapott: {until} (UTC) időpontig eszköz \
             nélkül is bejelentkezhet. Az engedély az első, eszközzel történő bejelentkezéskor \
             megszűnik.\n\n\
             Ha nem Ön kérte, azonnal értesítse a rendszer üzemeltetőjét.\n\n\
             ---\n\n\
             Dear {full_name},\n\n\
             {full_login} has been given a temporary permit: until {until} (UTC) you can log in \
             without your device. The permit ends the first time you log in with a device.\n\n\
             If you did not ask for this, tell the system's operator at once.\n"
        ),
    }
}

/// To a tenant's user maintainers: a technical user was locked (after wrong logins, or by a
/// maintainer) or unlocked.
pub fn technical_lock(id: &str, locked: bool, why: &str) -> MailText {
    let (hu, en) = if locked {
        ("zárolva", "locked")
    } else {
        ("feloldva", "unlocked")
    };
    MailText {
        subject: format!("Kapu – technikai felhasználó {hu} / technical user {en}: {id}"),
        body: format!(
            "A(z) {id} technikai felhasználó {hu} ({why}). Zárolt felhasználót egy \
             felhasználó-karbantartó oldhat fel.\n\n\
             ---\n\n\
             The technical user {id} was {en} ({why}). A user maintainer unlocks a locked one.\n"
        ),
    }
}

pub fn vault_code(full_name: &str, code: &str) -> MailText {
    MailText {
        subject: "Kapu – kódtár ellenőrző kód / vault check code".into(),
        body: format!(
            "Kedves {full_name}!\n\n\
             A kódtár új böngészőben történő megnyitásához adja meg ezt a kódot: {code}\n\
             A kód 10 percig érvényes.\n\n\
             Ha nem Ön próbálta megnyitni a kódtárat, azonnal változtassa meg jelszavát.\n\n\
             ---\n\n\
             Dear {full_name},\n\n\
             To open the vault in a new browser, enter this code: {code}\n\
             It is valid for 10 minutes.\n\n\
             If it was not you, change your password at once.\n"
        ),
    }
}

pub fn service_state(full_name: &str, service: &str, code: &str, state: &str) -> MailText {
    let (hu, en) = match state {
        "requested" => (
            "beérkezett, elbírálásra vár",
            "has been received and awaits review",
        ),
        "test" => (
            "tesztállapotba került: a teszt-szervezetek felhasználói már beléphetnek",
            "is in test: users of test tenants can log in now",
        ),
        "production" => ("éles üzembe került", "is in production"),
        "rejected" => ("elutasították", "was rejected"),
        _ => ("fel van függesztve", "is suspended"),
    };
    MailText {
        subject: format!("Kapu – {service} ({code})"),
        body: format!(
            "Kedves {full_name}!\n\n\
             A(z) {service} ({code}) szolgáltatás bekötési kérelme {hu}.\n\n\
             ---\n\n\
             Dear {full_name},\n\n\
             The request to connect {service} ({code}) {en}.\n"
        ),
    }
}
