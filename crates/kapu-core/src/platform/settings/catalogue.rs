//! The catalogue of system variables: each one's name, type, default, bounds and texts.

use super::definitions::{Definition, Kind};

macro_rules! var {
    ($name:literal, $kind:ident, $default:literal, $over:literal, $range:expr, $hu:literal, $en:literal, $dhu:literal, $den:literal) => {
        Definition {
            name: $name,
            kind: Kind::$kind,
            default: $default,
            overridable: $over,
            range: $range,
            display_hu: $hu,
            display_en: $en,
            description_hu: $dhu,
            description_en: $den,
        }
    };
}

const DAY_S: i64 = 86_400;

pub const DEFINITIONS: &[Definition] = &[
    var!(
        "time_zone",
        Zone,
        "Europe/Budapest",
        false,
        (0, 0),
        "Időzóna",
        "Time zone",
        "Az oldalakon látható időpontok ebben az időzónában jelennek meg (a nyári időszámítással együtt).",
        "Times on the pages are shown in this zone, daylight-saving time included."
    ),
    var!(
        "password_min_length",
        Number,
        "8",
        false,
        (4, 128),
        "Jelszó minimális hossza",
        "Minimum password length",
        "A jelszó legalább ennyi karakterből áll.",
        "A password has at least this many characters."
    ),
    var!(
        "password_max_length",
        Number,
        "20",
        false,
        (8, 128),
        "Jelszó maximális hossza",
        "Maximum password length",
        "A jelszó legfeljebb ennyi karakterből áll.",
        "A password has at most this many characters."
    ),
    var!(
        "password_require_lower",
        Bool,
        "true",
        false,
        (0, 0),
        "Kisbetű kötelező",
        "Lower-case letter required",
        "A jelszóban legyen kisbetű.",
        "A password contains a lower-case letter."
    ),
    var!(
        "password_require_upper",
        Bool,
        "true",
        false,
        (0, 0),
        "Nagybetű kötelező",
        "Upper-case letter required",
        "A jelszóban legyen nagybetű.",
        "A password contains an upper-case letter."
    ),
    var!(
        "password_require_digit",
        Bool,
        "true",
        false,
        (0, 0),
        "Számjegy kötelező",
        "Digit required",
        "A jelszóban legyen számjegy.",
        "A password contains a digit."
    ),
    var!(
        "password_max_age_days",
        Number,
        "120",
        false,
        (1, 3650),
        "Jelszó lejárati ideje (nap)",
        "Password lifetime (days)",
        "Ennyi nap után a jelszót meg kell változtatni.",
        "After this many days the password must be changed."
    ),
    var!(
        "password_warn_days",
        Number,
        "10",
        true,
        (0, 365),
        "Lejárati figyelmeztetés (nap)",
        "Expiry warning (days)",
        "A lejárat előtt ennyi nappal figyelmeztet a rendszer; a figyelmeztetés elhallgattatható.",
        "From this many days before expiry a login shows a warning the user may silence."
    ),
    var!(
        "password_warn_mandatory_days",
        Number,
        "5",
        true,
        (0, 365),
        "Kötelező figyelmeztetés (nap)",
        "Mandatory warning (days)",
        "A lejárat előtt ennyi nappal minden belépéskor figyelmeztet a rendszer.",
        "From this many days before expiry every login shows the warning."
    ),
    var!(
        "password_history_count",
        Number,
        "3",
        false,
        (0, 24),
        "Jelszóelőzmények száma",
        "Password history",
        "Az új jelszó nem egyezhet az utolsó ennyi jelszóval.",
        "A new password may not equal any of this many last ones."
    ),
    var!(
        "password_min_age",
        Duration,
        "24h",
        false,
        (0, 30 * DAY_S),
        "Jelszóváltás gyakorisága",
        "Minimum password age",
        "A jelszó ennyi időn belül csak egyszer változtatható.",
        "A password can be changed at most once within this time."
    ),
    var!(
        "lockout_threshold",
        Number,
        "5",
        false,
        (1, 100),
        "Hibás próbálkozások zárolásig",
        "Failed attempts before lock",
        "Ennyi egymást követő hibás jelszó után a fiók zárolódik.",
        "This many consecutive wrong passwords lock the account."
    ),
    var!(
        "technical_lockout_threshold",
        Number,
        "3",
        false,
        (1, 100),
        "Technikai felhasználó: hibás belépések zárolásig",
        "Technical user: failed logins before lock",
        "Ennyi egymást követő hibás belépés után a technikai felhasználó zárolódik, amíg egy felhasználó-karbantartó fel nem oldja.",
        "This many consecutive failed logins lock a technical user until a user maintainer unlocks it."
    ),
    var!(
        "lockout_duration",
        Duration,
        "10m",
        false,
        (60, DAY_S),
        "Zárolás időtartama",
        "Lock duration",
        "A hibás jelszavak miatti zárolás ennyi idő után magától feloldódik.",
        "A lock after wrong passwords lifts by itself after this time."
    ),
    var!(
        "sso_backchannel_private_networks",
        Bool,
        "false",
        false,
        (0, 0),
        "Kijelentkeztetés belső hálózati címre (fejlesztéshez)",
        "Back-channel logout to internal addresses (development)",
        "Engedi, hogy a szolgáltatások kijelentkeztető címe helyi, belső vagy link-local címre mutasson. Éles rendszerben kikapcsolva hagyandó: így a Kapu nem küldhető a saját hálózatának gépeire.",
        "Lets a service's back-channel logout address point at loopback, private or link-local addresses. Leave it off in production: Kapu cannot then be sent to the machines of its own network."
    ),
    var!(
        "sso_pkce_required",
        Bool,
        "true",
        false,
        (0, 0),
        "PKCE kötelező az új bizalmas klienseknek is",
        "PKCE required of new confidential clients too",
        "Az ezután bejegyzett, titkos kulccsal azonosuló szolgáltatásoknak is PKCE-vel kell kérniük a belépést (RFC 9700 2.1.1). A már bejegyzett szolgáltatások beállítása nem változik; a beállítás szolgáltatásonként módosítható.",
        "Services registered from now on that authenticate with a secret must send PKCE too (RFC 9700 2.1.1). Services already registered keep their setting; it can be changed per service."
    ),
    var!(
        "second_factor_secure_mode",
        Bool,
        "true",
        true,
        (0, 0),
        "Biztonsági módhoz második faktor kell",
        "Secure mode needs a second factor",
        "Biztonsági módban csak az léphet be, akinek van második faktora (kulcs, tanúsítvány, TOTP), és azt a jelszó után igazolja.",
        "Only a user with a second factor (key, certificate, TOTP) who proves it after the password may log in in secure mode."
    ),
    var!(
        "second_factor_every_login",
        Bool,
        "false",
        true,
        (0, 0),
        "Minden belépéshez második faktor kell",
        "Every login needs a second factor",
        "Normál módú belépéshez is kötelező a második faktor.",
        "Normal-mode logins need a second factor as well."
    ),
    var!(
        "second_factor_roles",
        Text,
        "",
        true,
        (0, 0),
        "Második faktor e szerepkörökhöz",
        "Second factor for these roles",
        "Vesszővel elválasztott szerepkör-azonosítók (pl. kapu.user_maintainer): aki ezek bármelyikével rendelkezik, csak második faktorral léphet be.",
        "Role ids separated by commas (e.g. kapu.user_maintainer): a user holding any of them logs in only with a second factor."
    ),
    var!(
        "second_factor_self_enrolment",
        Bool,
        "true",
        true,
        (0, 0),
        "Saját faktor felvétele",
        "Users enrol their own factors",
        "A felhasználók a profiljukon maguk vehetnek fel és törölhetnek második faktort; különben csak a felhasználókezelő.",
        "Users add and remove their own second factors on their profile; otherwise only a user maintainer does."
    ),
    var!(
        "client_certificate_required",
        Bool,
        "false",
        true,
        (0, 0),
        "Belépés csak tanúsítvánnyal",
        "Login only with a certificate",
        "A bejelentkezés csak akkor fogad el jelszót, ha a kapcsolaton a felhasználóhoz rendelt, érvényes tanúsítványt mutattak be.",
        "A login accepts a password only when the connection presents a valid certificate bound to the user."
    ),
    var!(
        "second_factor_lockout_threshold",
        Number,
        "5",
        false,
        (1, 100),
        "Hibás kódok a második lépés zárolásáig",
        "Wrong codes before the second step locks",
        "Ennyi egymást követő hibás második-faktor kód után a fiók második lépése zárolódik (a jelszavas belépést ez nem zárolja).",
        "This many consecutive wrong second-factor codes lock the account's second step (the password login stays open)."
    ),
    var!(
        "second_factor_lockout_duration",
        Duration,
        "10m",
        false,
        (60, DAY_S),
        "A második lépés zárolásának ideje",
        "Second-step lock duration",
        "A hibás kódok miatti zárolás ennyi idő után magától feloldódik.",
        "A lock after wrong codes lifts by itself after this time."
    ),
    var!(
        "password_reset_per_address_per_minute",
        Number,
        "5",
        false,
        (1, 100_000),
        "Jelszó-visszaállítási kérések címenként (perc)",
        "Password-reset requests per address (minute)",
        "Egy címről percenként legfeljebb ennyi elfelejtett-jelszó kérés indít levelet; a többire ugyanaz a válasz érkezik, de levél nem megy.",
        "At most this many forgotten-password requests per address and minute send a mail; the rest get the same answer but no mail."
    ),
    var!(
        "password_reset_per_account_per_hour",
        Number,
        "3",
        false,
        (1, 1000),
        "Jelszó-visszaállítási levelek fiókonként (óra)",
        "Password-reset mails per account (hour)",
        "Egy fióknak óránként legfeljebb ennyi elfelejtett-jelszó levél megy.",
        "At most this many forgotten-password mails go to one account per hour."
    ),
    var!(
        "login_throttle_per_minute",
        Number,
        "30",
        false,
        (1, 100_000),
        "Sikertelen belépések címenként (perc)",
        "Failed logins per address (minute)",
        "Egy címről percenként legfeljebb ennyi sikertelen belépés fogadható.",
        "Failed logins accepted from one address per minute."
    ),
    var!(
        "registration_per_address_per_minute",
        Number,
        "5",
        false,
        (1, 100_000),
        "Regisztrációk címenként (perc)",
        "Registrations per address (minute)",
        "Egy címről percenként legfeljebb ennyi ügyfélkapus regisztráció fogadható.",
        "Citizen registrations accepted from one address per minute."
    ),
    var!(
        "session_idle_timeout",
        Duration,
        "30m",
        true,
        (60, DAY_S),
        "Tétlenségi időkorlát",
        "Idle timeout",
        "Ennyi tétlenség után a munkamenet lejár.",
        "A session ends after this much inactivity."
    ),
    var!(
        "session_absolute_timeout",
        Duration,
        "12h",
        true,
        (300, 7 * DAY_S),
        "Munkamenet maximális hossza",
        "Absolute session timeout",
        "A munkamenet legfeljebb ennyi ideig tart.",
        "A session lasts at most this long."
    ),
    var!(
        "activation_link_validity",
        Duration,
        "24h",
        false,
        (300, 30 * DAY_S),
        "Aktiváló hivatkozás érvényessége",
        "Activation link validity",
        "Az aktiváló hivatkozás ennyi ideig érvényes.",
        "An activation link is valid this long."
    ),
    var!(
        "password_reset_link_validity",
        Duration,
        "1h",
        false,
        (300, 7 * DAY_S),
        "Jelszó-visszaállító hivatkozás érvényessége",
        "Password reset link validity",
        "Az elfelejtett jelszóhoz küldött hivatkozás ennyi ideig érvényes.",
        "A forgotten-password link is valid this long."
    ),
    var!(
        "list_max_page_size",
        Number,
        "100",
        true,
        (10, 1000),
        "Listák legnagyobb oldalmérete",
        "Largest list page size",
        "Egy listaoldalon legfeljebb ennyi sor jelenik meg.",
        "A list page shows at most this many rows."
    ),
    var!(
        "system_notice",
        Text,
        "",
        false,
        (0, 500),
        "Rendszerüzenet",
        "System notice",
        "A bejelentkezési oldalon megjelenő közlemény.",
        "A notice shown on the login page."
    ),
    var!(
        "system_notice_until",
        Date,
        "",
        false,
        (0, 0),
        "Rendszerüzenet vége",
        "System notice end",
        "Eddig a napig látszik a közlemény (üres: korlátlanul).",
        "The notice shows until this day (empty: always)."
    ),
    var!(
        "mailbox_system_id",
        Number,
        "1",
        false,
        (1, 999_999_999),
        "Rendszerazonosító (érkeztetés)",
        "System id (arrival numbers)",
        "Az érkeztetési számok első kilenc számjegye.",
        "The first nine digits of every arrival number."
    ),
    var!(
        "mailbox_retention",
        Duration,
        "30d",
        true,
        (DAY_S, 3650 * DAY_S),
        "Átvételi határidő",
        "Collection period",
        "Ennyi idő alatt nem letöltött üzenet lejár: dokumentumai törlődnek, a feladó meghiúsulási igazolást kap.",
        "A message not downloaded within this time expires: its documents are deleted and the sender gets a non-delivery receipt."
    ),
    var!(
        "mailbox_keep_delivered",
        Duration,
        "365d",
        true,
        (DAY_S, 36500 * DAY_S),
        "Átvett üzenetek megőrzése",
        "Keeping delivered messages",
        "Az átvett üzenetek dokumentumai ennyi idő után törlődnek (az adatok és igazolások megmaradnak), hacsak nincsenek tartós tárban.",
        "Documents of delivered messages are deleted after this time (their details and receipts stay), unless in long-term storage."
    ),
    var!(
        "mailbox_long_term_quota",
        Number,
        "100",
        true,
        (0, 1_000_000),
        "Tartós tár kerete (üzenet)",
        "Long-term storage quota (messages)",
        "Egy postafiókban legfeljebb ennyi üzenet lehet tartós tárban.",
        "At most this many messages of a mailbox may be in long-term storage."
    ),
    var!(
        "mailbox_max_document_mb",
        Number,
        "1024",
        true,
        (1, 102_400),
        "Dokumentum legnagyobb mérete (MiB)",
        "Largest document (MiB)",
        "Ennél nagyobb dokumentumot a rendszer nem fogad el.",
        "Documents larger than this are refused."
    ),
    var!(
        "vault_idle_timeout",
        Duration,
        "5m",
        true,
        (60, DAY_S),
        "Kódtár zárolása tétlenség után",
        "Vault lock after inactivity",
        "A feloldott kódtár ennyi tétlenség után (vagy ha a böngészőlap ennél tovább rejtve volt) újra zárol.",
        "An unlocked vault locks again after this much inactivity (or when the browser tab was hidden longer)."
    ),
    var!(
        "vault_email_verification",
        Bool,
        "false",
        true,
        (0, 0),
        "Kódtár: e-mailes ellenőrzés új böngészőn",
        "Vault: e-mail check on a new browser",
        "Új böngészőben a kódtár feloldásához a felhasználó e-mailben kapott 6 jegyű kódot is meg kell adni.",
        "Unlocking the vault in a new browser also asks a 6-digit code sent to the user's e-mail."
    ),
    var!(
        "vault_browser_days",
        Number,
        "30",
        true,
        (1, 365),
        "Kódtár: ellenőrzött böngésző megjegyzése (nap)",
        "Vault: days a checked browser is remembered",
        "Az e-mailes ellenőrzésen átment böngészőt ennyi napig nem kérdezi újra.",
        "A browser that passed the e-mail check is not asked again for this many days."
    ),
    var!(
        "mailbox_sends_per_hour",
        Number,
        "1000",
        true,
        (1, 1_000_000),
        "Óránként küldhető üzenetek (fiókonként)",
        "Messages per hour (per account)",
        "Egy fiók óránként legfeljebb ennyi üzenetet küldhet; a többit a következő óráig elutasítja a Kapu.",
        "One account may send at most this many messages an hour; Kapu refuses more until the next hour."
    ),
    var!(
        "mailbox_mb_per_day",
        Number,
        "51200",
        true,
        (1, 10_485_760),
        "Naponta küldhető adat (MiB, fiókonként)",
        "Data sent per day (MiB, per account)",
        "Egy fiók üzenetei egy nap alatt együtt legfeljebb ekkorák lehetnek.",
        "The messages one account sends in a day may together be at most this large."
    ),
    var!(
        "mailbox_citizen_sends_per_hour",
        Number,
        "20",
        false,
        (1, 1_000_000),
        "Óránként küldhető üzenetek (állampolgár)",
        "Messages per hour (citizen)",
        "Egy önállóan regisztrált állampolgár óránként legfeljebb ennyi üzenetet küldhet.",
        "A self-registered citizen may send at most this many messages an hour."
    ),
    var!(
        "mailbox_citizen_mb_per_day",
        Number,
        "2048",
        false,
        (1, 10_485_760),
        "Naponta küldhető adat (MiB, állampolgár)",
        "Data sent per day (MiB, citizen)",
        "Egy önállóan regisztrált állampolgár üzenetei egy nap alatt együtt legfeljebb ekkorák lehetnek.",
        "The messages a self-registered citizen sends in a day may together be at most this large."
    ),
    var!(
        "mailbox_max_message_mb",
        Number,
        "2048",
        true,
        (1, 204_800),
        "Üzenet legnagyobb mérete (MiB)",
        "Largest message (MiB)",
        "Egy üzenet dokumentumai együtt legfeljebb ekkorák lehetnek.",
        "The documents of one message together may be at most this large."
    ),
];
