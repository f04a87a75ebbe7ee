//! The one catalog of finding codes.
//!
//! Every finding mailvet reports carries a code from this table, and the
//! table is the only place where a code's severity, title, `why`, generic
//! `fix` and references are written down.
//!
//! Codes are a public contract: CI pipelines match on them, the web page
//! links them, and every report format carries them. A code never changes
//! meaning once shipped; new codes may be added freely, but an existing one
//! is never renamed, reused or given a different condition.
//!
//! The text here is generic. A check adds the specific detail (which record,
//! host or header it saw), the evidence (the DNS answers or header values),
//! and, when one can be computed, a concrete fix that replaces the generic
//! one below. Placeholders such as `<domain>` and `<selector>` stand for the
//! values a check fills in.

use super::{CatalogEntry, Code, Severity};

const GMAIL: &str = "Gmail sender guidelines (support.google.com/a/answer/81126)";
const YAHOO: &str = "Yahoo sender best practices (senders.yahooinc.com/best-practices)";
const MICROSOFT: &str = "Microsoft Outlook.com high-volume sender requirements (2025)";
const BIMI_DRAFT: &str = "BIMI draft (draft-brand-indicators-for-message-identification)";
const BIMI_GROUP: &str = "BIMI Group implementation guide (bimigroup.org)";

/// Declares each entry once, as a constant a check names
/// (`Finding::new(catalog::SPF_MISSING, ..)`, so a misspelled code does not
/// compile), and lists them all, in order, as [`CATALOG`].
macro_rules! catalog {
    ($($name:ident = $entry:expr;)*) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` finding code.")]
            pub const $name: Code = &$entry;
        )*

        /// Every finding code mailvet can report, grouped as in the
        /// published catalog: SPF, DMARC, DKIM, then MX, MTA-STS, TLS-RPT,
        /// BIMI and DNSSEC, the SMTP transport probe, then the codes only a
        /// message check produces.
        pub static CATALOG: &[Code] = &[$($name),*];
    };
}

catalog! {
    // ----------------------------------------------------------------------
    // SPF (domain audit and message check)
    // ----------------------------------------------------------------------
    SPF_MISSING = CatalogEntry {
        code: "spf.missing",
        severity: Severity::Error,
        title: "No SPF record published",
        why: "Without SPF, receivers cannot tell which servers may send mail for this \
              domain, so every SPF check returns none. DMARC then has to pass through \
              DKIM alone, and Gmail, Yahoo and Microsoft require bulk senders to publish SPF.",
        fix: "Publish one TXT record at <domain> that lists every service sending with \
              this domain as the envelope sender (MAIL FROM), for example: \
              v=spf1 include:<provider's SPF domain> -all (use ~all instead of -all \
              while you are still confirming all your senders).",
        refs: &["RFC 7208 §4.5", "RFC 7208 §8.1", GMAIL, YAHOO, MICROSOFT],
    };
    SPF_MULTIPLE_RECORDS = CatalogEntry {
        code: "spf.multiple_records",
        severity: Severity::Error,
        title: "More than one SPF record at the domain",
        why: "When a domain publishes two or more v=spf1 records, receivers cannot pick \
              one and return a permanent error, so SPF fails for all your mail. This \
              usually happens when a new sending service is added as a second record \
              instead of being merged into the existing one.",
        fix: "Merge everything into a single TXT record and delete the others, for \
              example replace v=spf1 include:<provider A> ~all and \
              v=spf1 include:<provider B> ~all with \
              v=spf1 include:<provider A> include:<provider B> ~all.",
        refs: &["RFC 7208 §3.2", "RFC 7208 §4.5"],
    };
    SPF_SYNTAX = CatalogEntry {
        code: "spf.syntax",
        severity: Severity::Error,
        title: "SPF record does not parse",
        why: "A record with an unknown mechanism, a misspelled term or a malformed \
              address is a permanent error: receivers stop evaluating it, and SPF fails \
              for every message, not just for the broken part.",
        fix: "Correct the term named in the detail. Each term must be a mechanism (all, \
              include, a, mx, ptr, ip4, ip6, exists) with an optional qualifier \
              (+, -, ~, ?), or a modifier written name=value (redirect=, exp=), and \
              terms are separated by spaces, for example: \
              v=spf1 ip4:192.0.2.0/24 include:<provider> -all.",
        refs: &["RFC 7208 §4.6", "RFC 7208 §12"],
    };
    SPF_TOO_MANY_LOOKUPS = CatalogEntry {
        code: "spf.too_many_lookups",
        severity: Severity::Error,
        title: "SPF record needs more than 10 DNS lookups",
        why: "Receivers stop evaluating SPF once 10 lookups are used up and return a \
              permanent error, so SPF fails for any mail not matched before that point \
              and DMARC can then pass only through DKIM. Every include, a, mx, ptr, \
              exists and redirect counts, including those inside the records you include.",
        fix: "Remove includes for services that no longer send for you, replace a and \
              mx for your own servers with their ip4:/ip6: addresses (these need no \
              lookup), or move some senders to a subdomain with its own SPF record. \
              Keep the total, counted through every nested include, at 10 or fewer.",
        refs: &["RFC 7208 §4.6.4"],
    };
    SPF_LOOKUPS_NEAR_LIMIT = CatalogEntry {
        code: "spf.lookups_near_limit",
        severity: Severity::Warning,
        title: "SPF record uses 9 or 10 of its 10 DNS lookups",
        why: "The record works today, but one more include (a new sending service, or a \
              provider adding a nested include to its own record) pushes it over the \
              limit, and from then on SPF fails with a permanent error.",
        fix: "Make room before you need it: remove includes for services you no longer \
              use, replace a and mx for your own servers with ip4:/ip6: addresses, or \
              give bulk senders their own subdomain with a separate SPF record.",
        refs: &["RFC 7208 §4.6.4"],
    };
    SPF_VOID_LOOKUPS = CatalogEntry {
        code: "spf.void_lookups",
        severity: Severity::Error,
        title: "SPF record has more than 2 lookups that return nothing",
        why: "A void lookup is a name in the record that does not exist or has no \
              matching records. Receivers allow at most two; past that the result is a \
              permanent error and SPF fails. Void names usually point to a retired \
              service or a typo.",
        fix: "Remove or correct the terms whose names return nothing (listed in the \
              detail), for example an include: of a provider you left, or an a: or mx: \
              of a host that no longer exists.",
        refs: &["RFC 7208 §4.6.4"],
    };
    SPF_INCLUDE_MISSING = CatalogEntry {
        code: "spf.include_missing",
        severity: Severity::Error,
        title: "An SPF include or redirect points to a domain without SPF",
        why: "When the target of an include: or redirect= publishes no SPF record, \
              evaluation ends in a permanent error rather than a simple non-match, so \
              SPF fails for every message whose check reaches that term. This usually \
              means a typo, or a provider that renamed or retired its SPF domain.",
        fix: "Correct the target named in the detail (check the spelling against your \
              provider's current instructions), or remove the include: if you no \
              longer use that service.",
        refs: &["RFC 7208 §5.2", "RFC 7208 §6.1"],
    };
    SPF_INCLUDE_LOOP = CatalogEntry {
        code: "spf.include_loop",
        severity: Severity::Error,
        title: "SPF include or redirect chain loops back on itself",
        why: "A record that includes or redirects to itself, directly or through other \
              records, can never finish evaluating. Receivers give up with a permanent \
              error, so SPF fails for mail that reaches the loop.",
        fix: "Break the cycle named in the detail: remove the include: or redirect= \
              that points back to a record already in the chain.",
        refs: &["RFC 7208 §4.6.4", "RFC 7208 §5.2"],
    };
    SPF_PLUS_ALL = CatalogEntry {
        code: "spf.plus_all",
        severity: Severity::Error,
        title: "SPF record authorises every server on the internet (+all)",
        why: "A record ending in +all (or a bare all, which means the same) tells \
              receivers that any server may send as your domain. SPF then passes for \
              spammers and spoofers too, which defeats its purpose and can let forged \
              mail pass DMARC.",
        fix: "End the record with -all (or ~all) after listing every legitimate sender, \
              for example: v=spf1 include:<provider> -all.",
        refs: &["RFC 7208 §4.6.2", "RFC 7208 §5.1"],
    };
    SPF_NEUTRAL_ALL = CatalogEntry {
        code: "spf.neutral_all",
        severity: Severity::Warning,
        title: "SPF record ends in ?all (neutral)",
        why: "?all makes no statement about servers you did not list, so mail from \
              anyone else gets a neutral result, which receivers treat much like having \
              no SPF at all. It gives no protection against forged envelope senders.",
        fix: "Once every legitimate sender is listed, change ?all to ~all or -all, for \
              example: v=spf1 include:<provider> -all.",
        refs: &["RFC 7208 §5.1", "RFC 7208 §8.2"],
    };
    SPF_NO_ALL = CatalogEntry {
        code: "spf.no_all",
        severity: Severity::Warning,
        title: "SPF record has neither an all mechanism nor a redirect",
        why: "When nothing in the record matches and there is no all or redirect=, the \
              result defaults to neutral, so servers you did not list are neither \
              authorised nor refused. The record protects against nothing.",
        fix: "Add an all term at the end of the record, for example: \
              v=spf1 include:<provider> -all (use ~all while you are still confirming \
              your senders).",
        refs: &["RFC 7208 §4.7", "RFC 7208 §5.1"],
    };
    SPF_SOFTFAIL_ALL = CatalogEntry {
        code: "spf.softfail_all",
        severity: Severity::Info,
        title: "SPF record ends in ~all (softfail)",
        why: "~all asks receivers to accept mail from unlisted servers but treat it as \
              suspicious. That is fine, and common, when DMARC is at p=quarantine or \
              p=reject, because DMARC then decides what happens to forged mail; without \
              DMARC enforcement it offers only weak protection.",
        fix: "No change is needed if DMARC enforces. Otherwise move DMARC to \
              p=quarantine or p=reject, or end the SPF record with -all once every \
              sender is listed.",
        refs: &["RFC 7208 §8.5", "RFC 7489 §6.3"],
    };
    SPF_PTR_USED = CatalogEntry {
        code: "spf.ptr_used",
        severity: Severity::Warning,
        title: "SPF record uses the ptr mechanism",
        why: "ptr depends on reverse DNS, which is slow, often outside your control and \
              a heavy load on DNS servers; the SPF standard says it should not be \
              published. Receivers handle it inconsistently, so the servers it was \
              meant to cover may not pass SPF reliably.",
        fix: "Replace ptr (or ptr:<domain>) with the ip4:/ip6: ranges, or the include: \
              of the provider, for the servers it was meant to cover.",
        refs: &["RFC 7208 §5.5"],
    };
    SPF_DEPRECATED_RR_TYPE = CatalogEntry {
        code: "spf.deprecated_rr_type",
        severity: Severity::Info,
        title: "Domain still publishes a DNS record of type SPF",
        why: "The separate SPF record type (type 99) was dropped from the standard, and \
              receivers read only TXT records. It does no harm by itself, but it is \
              easily left out of sync with the TXT record and misleads anyone reading \
              the zone.",
        fix: "Keep the TXT record as the only SPF policy and delete the record of type \
              SPF at <domain>.",
        refs: &["RFC 7208 §3.1"],
    };
    SPF_STRING_TOO_LONG = CatalogEntry {
        code: "spf.string_too_long",
        severity: Severity::Error,
        title: "SPF record contains a TXT string longer than 255 bytes",
        why: "A single string inside a DNS TXT record holds at most 255 bytes. DNS \
              servers and providers refuse or cut a longer string, so the record cannot \
              be published as written, and a truncated SPF record is broken.",
        fix: "Split the record into several quoted strings of at most 255 bytes each, \
              inside the same TXT record; receivers join them without adding spaces, \
              for example: \"v=spf1 ip4:192.0.2.0/24 include:<provider A> \" \
              \"include:<provider B> -all\".",
        refs: &["RFC 7208 §3.3", "RFC 1035 §3.3"],
    };
    SPF_RECORD_TOO_LONG = CatalogEntry {
        code: "spf.record_too_long",
        severity: Severity::Warning,
        title: "SPF record is longer than 450 bytes",
        why: "A long record, together with other TXT records at the same name, can push \
              the DNS answer past 512 bytes, the size that always fits in a plain UDP \
              response. Some resolvers and firewalls then fail to fetch it, and SPF \
              returns a temporary error for part of your mail.",
        fix: "Shorten the record: remove senders you no longer use, merge neighbouring \
              ip4:/ip6: ranges into larger prefixes, or move a group of senders behind \
              an include: of a subdomain you control (each include costs one of the 10 \
              lookups).",
        refs: &["RFC 7208 §3.4"],
    };
    SPF_DNS_ERROR = CatalogEntry {
        code: "spf.dns_error",
        severity: Severity::Warning,
        title: "SPF lookup failed with a temporary DNS error",
        why: "A DNS query for the SPF record, or for a name it refers to, timed out or \
              returned a server failure. The result is a temporary error: it is unknown \
              whether the record is correct or even present. Receivers hitting the same \
              failure usually defer your mail or treat it as unauthenticated.",
        fix: "Check that every authoritative name server for the domain (and for any \
              domain named in the detail) answers TXT queries quickly and consistently, \
              then run the check again. If the failure persists, contact your DNS provider.",
        refs: &["RFC 7208 §4.4", "RFC 7208 §8.6"],
    };
    SPF_WALK_LIMIT = CatalogEntry {
        code: "spf.walk_limit",
        severity: Severity::Warning,
        title: "SPF include tree too large to read in full",
        why: "The SPF record reaches more records, or more names to look up, than the \
              audit reads for one domain. A tree that size is far past the 10 DNS lookups \
              receivers allow, so they return a permanent error; the audit's counts are \
              what it read before stopping, so the full cost is at least that much.",
        fix: "Flatten the SPF record: list your senders' ip4:/ip6: ranges directly and \
              keep at most a few includes, so the whole tree stays within 10 lookups. \
              An operator who needs bigger trees read in full can raise --max-spf-nodes.",
        refs: &["RFC 7208 §4.6.4", "RFC 7208 §11.1"],
    };
    SPF_MX_TOO_MANY_HOSTS = CatalogEntry {
        code: "spf.mx_too_many_hosts",
        severity: Severity::Error,
        title: "An mx term names a domain with more than 10 MX hosts",
        why: "Receivers look at no more than 10 MX hosts for one mx term. When the \
              domain it names has more, evaluating the term is a permanent error, so \
              SPF fails for every message that reaches the term, however few lookups \
              the record uses otherwise.",
        fix: "Replace the mx term with the ip4:/ip6: ranges of the hosts that really \
              send mail, or with a: terms for a few of them, for example: \
              v=spf1 ip4:192.0.2.0/24 include:<provider> -all.",
        refs: &["RFC 7208 §4.6.4", "RFC 7208 §5.4"],
    };
    SPF_TERMS_AFTER_ALL = CatalogEntry {
        code: "spf.terms_after_all",
        severity: Severity::Warning,
        title: "SPF record has terms that are never evaluated",
        why: "Evaluation stops at the all mechanism, which matches every sender, so \
              mechanisms written after it are never tested, and a redirect= beside an \
              all term is ignored. Senders listed there are not authorised, although \
              the record seems to list them.",
        fix: "Move the all term to the end of the record, after every mechanism, and \
              drop redirect= when the record has its own all, for example: \
              v=spf1 include:<provider A> include:<provider B> -all.",
        refs: &["RFC 7208 §5.1", "RFC 7208 §6.1"],
    };
    SPF_SENDER_ID = CatalogEntry {
        code: "spf.sender_id",
        severity: Severity::Info,
        title: "Domain publishes a Sender ID record (spf2.0)",
        why: "Sender ID (spf2.0/mfrom, spf2.0/pra) is an experiment that was abandoned \
              and moved to historic status; receivers no longer read these records. \
              Only the v=spf1 record counts, and a domain that has only a Sender ID \
              record has no SPF at all.",
        fix: "Delete the TXT record that starts with spf2.0/ and make sure the domain \
              publishes one record that starts with v=spf1, for example: \
              v=spf1 include:<provider> -all.",
        refs: &["RFC 4406", "RFC 7208 §4.5"],
    };
    SPF_EXP_UNUSABLE = CatalogEntry {
        code: "spf.exp_unusable",
        severity: Severity::Info,
        title: "SPF exp= names a domain without exactly one TXT record",
        why: "On an SPF fail, receivers may quote the text published at the exp= domain \
              to the sender. When that domain has no TXT record, or more than one, \
              they use their default text instead, so your explanation is never shown.",
        fix: "Publish exactly one TXT record at the exp= domain with the explanation, \
              for example: \"%{i} is not one of <domain>'s mail servers\", or remove \
              exp= from the record.",
        refs: &["RFC 7208 §6.2"],
    };
    // ----------------------------------------------------------------------
    // DMARC
    // ----------------------------------------------------------------------
    DMARC_MISSING = CatalogEntry {
        code: "dmarc.missing",
        severity: Severity::Error,
        title: "No DMARC record published",
        why: "Without DMARC, receivers have no instruction for mail that fails \
              authentication, so anyone can put your domain in the From address, and \
              you get no reports about who sends as you. Gmail, Yahoo and Microsoft \
              require a DMARC record from bulk senders.",
        fix: "Publish a TXT record at _dmarc.<domain>, for example: \
              v=DMARC1; p=none; rua=mailto:dmarc-reports@<domain> — then move to \
              p=quarantine or p=reject once reports show all your mail passes.",
        refs: &[
            "RFC 7489 §6.1",
            "RFC 7489 §6.6.3",
            "RFC 9989",
            GMAIL,
            YAHOO,
            MICROSOFT,
        ],
    };
    DMARC_MULTIPLE_RECORDS = CatalogEntry {
        code: "dmarc.multiple_records",
        severity: Severity::Error,
        title: "More than one DMARC record at one name",
        why: "When a name holds two or more v=DMARC1 records, receivers ignore all of \
              them and apply no DMARC policy, exactly as if none were published. Forged \
              mail is then not blocked, and reports stop.",
        fix: "Keep a single TXT record at _dmarc.<domain> with all the tags you need, \
              for example: v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<domain> — \
              and delete the others.",
        refs: &["RFC 7489 §6.6.3", "RFC 9989"],
    };
    DMARC_SYNTAX = CatalogEntry {
        code: "dmarc.syntax",
        severity: Severity::Error,
        title: "DMARC record does not parse or has an invalid policy",
        why: "Receivers ignore a record they cannot parse, and a missing or invalid p= \
              leaves them to ignore the record or fall back to p=none. Either way forged \
              mail is not handled as you intended.",
        fix: "Start the record with v=DMARC1; followed by p=none, p=quarantine or \
              p=reject, and separate tags with semicolons, for example: \
              v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<domain>.",
        refs: &["RFC 7489 §6.3", "RFC 7489 §6.4", "RFC 9989"],
    };
    DMARC_POLICY_NONE = CatalogEntry {
        code: "dmarc.policy_none",
        severity: Severity::Warning,
        title: "DMARC policy is p=none (monitoring only)",
        why: "p=none asks receivers to deliver mail that fails DMARC as usual, so \
              spoofed mail using your domain still reaches inboxes. It is the right \
              first step for collecting reports, but it protects nothing, and brand \
              logos (BIMI) need an enforcing policy.",
        fix: "Once aggregate reports show that all your legitimate mail passes DMARC, \
              move to p=quarantine and then p=reject, for example: \
              v=DMARC1; p=reject; rua=mailto:dmarc-reports@<domain>.",
        refs: &["RFC 7489 §6.3", "RFC 9989"],
    };
    DMARC_SUBDOMAIN_POLICY_NONE = CatalogEntry {
        code: "dmarc.subdomain_policy_none",
        severity: Severity::Warning,
        title: "Subdomain policy is none while the main policy enforces",
        why: "sp=none (or np=none, for subdomains that do not exist) tells receivers \
              not to act on forged mail from subdomains, so attackers can spoof \
              addresses such as billing.<domain> even though the main domain is \
              protected.",
        fix: "Remove sp= and np= so subdomains follow p=, or set them to quarantine or \
              reject, for example: \
              v=DMARC1; p=reject; sp=reject; rua=mailto:dmarc-reports@<domain>. If one \
              subdomain really needs monitoring only, give it its own _dmarc record.",
        refs: &["RFC 7489 §6.3", "RFC 9989"],
    };
    DMARC_PCT_PARTIAL = CatalogEntry {
        code: "dmarc.pct_partial",
        severity: Severity::Warning,
        title: "DMARC policy covers less than 100% of mail (pct below 100)",
        why: "With pct below 100, receivers that honour the tag apply your policy to \
              only that share of failing mail and handle the rest one step more \
              leniently, so some spoofed mail still gets through. The current DMARC \
              standard dropped pct, so other receivers ignore it, which makes the \
              outcome unpredictable.",
        fix: "Remove the pct= tag (the default is 100) once reports show your \
              legitimate mail passes, for example: \
              v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<domain>. To stage a \
              rollout, step from p=none to p=quarantine to p=reject instead.",
        refs: &["RFC 7489 §6.3", "RFC 7489 §6.6.4", "RFC 9989"],
    };
    DMARC_TAG_IGNORED = CatalogEntry {
        code: "dmarc.tag_ignored",
        severity: Severity::Warning,
        title: "DMARC record has a tag with an invalid value, which receivers ignore",
        why: "Receivers ignore a pct, ri or rf tag whose value is invalid and apply the \
              rest of the record, so the tag does not do what it was written for: an \
              invalid pct, for instance, leaves the policy applied to all failing mail.",
        fix: "Correct the value (pct is a whole number from 0 to 100, ri a number of \
              seconds, rf a list of report format names such as afrf) or remove the \
              tag, for example: v=DMARC1; p=reject; rua=mailto:dmarc-reports@<domain>.",
        refs: &["RFC 7489 §6.3", "RFC 9989"],
    };
    DMARC_HISTORIC_TAGS = CatalogEntry {
        code: "dmarc.historic_tags",
        severity: Severity::Info,
        title: "DMARC record uses tags the current standard removed",
        why: "RFC 9989 removed the pct, ri and rf tags: receivers following it ignore \
              them, while receivers still following RFC 7489 honour them, so what the \
              tags ask for happens only at some receivers.",
        fix: "Remove pct=, ri= and rf= when you next edit the record; nothing else \
              changes, for example: v=DMARC1; p=reject; \
              rua=mailto:dmarc-reports@<domain>.",
        refs: &["RFC 9989", "RFC 7489 §6.3"],
    };
    DMARC_NO_RUA = CatalogEntry {
        code: "dmarc.no_rua",
        severity: Severity::Warning,
        title: "DMARC record has no aggregate report address (rua)",
        why: "Without rua=, receivers send you no aggregate reports, so you cannot see \
              which services send as your domain, whether your own mail passes, or \
              whether someone is spoofing you. Moving safely to an enforcing policy \
              depends on those reports.",
        fix: "Add a rua tag pointing to a mailbox or report-processing service, for \
              example: v=DMARC1; p=none; rua=mailto:dmarc-reports@<domain>.",
        refs: &["RFC 7489 §6.3", "RFC 7489 §7.2", "RFC 9989"],
    };
    DMARC_RUA_UNAUTHORIZED = CatalogEntry {
        code: "dmarc.rua_unauthorized",
        severity: Severity::Warning,
        title: "DMARC report address at another domain is not authorised",
        why: "When rua= or ruf= points to a mailbox at another organisation's domain, \
              receivers first check that this domain agrees to take your reports. \
              Without its confirming record they send nothing there, so you get no \
              reports even though the tag is set.",
        fix: "Ask the operator of the report domain to publish a TXT record at \
              <domain>._report._dmarc.<report domain> containing v=DMARC1 (report \
              services usually do this when you sign up), or use a report address at \
              your own domain.",
        refs: &["RFC 7489 §7.1"],
    };
    DMARC_INHERITED = CatalogEntry {
        code: "dmarc.inherited",
        severity: Severity::Info,
        title: "DMARC policy inherited from the organizational domain",
        why: "This domain has no DMARC record of its own, so receivers apply the record \
              of its organizational domain (normally the registered domain, such as \
              example.com for mail.example.com), using its sp= policy when one is set. \
              This is usually intended; check that the inherited policy suits this \
              domain's mail.",
        fix: "No change is needed if the inherited policy is right. To give this \
              domain its own policy, publish a TXT record at _dmarc.<domain>, for \
              example: v=DMARC1; p=reject; rua=mailto:dmarc-reports@<organizational domain>.",
        refs: &["RFC 7489 §6.6.3", "RFC 9989"],
    };
    DMARC_RECORD_AT_APEX = CatalogEntry {
        code: "dmarc.record_at_apex",
        severity: Severity::Warning,
        title: "DMARC record published at the domain instead of at _dmarc",
        why: "Receivers look for DMARC only at _dmarc.<domain>. A v=DMARC1 record at the \
              domain itself is never read, so it has no effect, and if it is the only \
              one the domain effectively has no DMARC.",
        fix: "Publish the record at _dmarc.<domain> (for example: \
              v=DMARC1; p=none; rua=mailto:dmarc-reports@<domain>) and delete the TXT \
              record at <domain> that starts with v=DMARC1.",
        refs: &["RFC 7489 §6.1", "RFC 9989"],
    };
    DMARC_DNS_ERROR = CatalogEntry {
        code: "dmarc.dns_error",
        severity: Severity::Warning,
        title: "DMARC lookup failed with a temporary DNS error",
        why: "The DNS query for the DMARC record timed out or returned a server \
              failure, so it is unknown whether a record exists or what it says. \
              Receivers hitting the same failure cannot apply your policy and may defer \
              your mail.",
        fix: "Check that every authoritative name server for the domain answers TXT \
              queries for _dmarc.<domain> quickly and consistently, then run the check \
              again. If the failure persists, contact your DNS provider.",
        refs: &["RFC 7489 §6.6.3", "RFC 9989"],
    };
    // ----------------------------------------------------------------------
    // DKIM (domain audit: selectors given or discovered)
    // ----------------------------------------------------------------------
    DKIM_NO_SELECTOR_FOUND = CatalogEntry {
        code: "dkim.no_selector_found",
        severity: Severity::Warning,
        title: "No DKIM key found at the selectors checked",
        why: "DKIM keys live at <selector>._domainkey.<domain>, and each sending service \
              picks its own selector name, so keys cannot be listed from DNS. No key was \
              found at the selectors given or the common ones tried. Without a selector \
              from you this is not proof that DKIM is missing; but if it is, DMARC can \
              pass only through SPF, which breaks when mail is forwarded.",
        fix: "Find the selector in the s= tag of the DKIM-Signature header of a message \
              you sent (or in your provider's settings) and run the check again with \
              it. If your mail is not signed yet, enable DKIM at each sending service \
              and publish the TXT record it gives you at \
              <selector>._domainkey.<domain>, for example: v=DKIM1; k=rsa; p=<public key>.",
        refs: &["RFC 6376 §3.1", "RFC 6376 §3.6.2.1", GMAIL, YAHOO],
    };
    DKIM_KEY_REVOKED = CatalogEntry {
        code: "dkim.key_revoked",
        severity: Severity::Info,
        title: "DKIM selector publishes a revoked key (empty p=)",
        why: "An empty p= means the key at this selector was deliberately withdrawn, and \
              any signature made with it fails. That is normal after a key rotation; it \
              matters only if a service still signs with this selector.",
        fix: "No change is needed if the selector is retired. If a service still signs \
              with it, publish the service's current public key at \
              <selector>._domainkey.<domain>, or switch the service to a selector that \
              has one.",
        refs: &["RFC 6376 §3.6.1"],
    };
    DKIM_KEY_TOO_SHORT = CatalogEntry {
        code: "dkim.key_too_short",
        severity: Severity::Error,
        title: "DKIM key is shorter than 1024 bits",
        why: "RSA keys below 1024 bits can be broken with modest effort, and receivers \
              must not treat signatures made with them as valid, so DKIM fails for every \
              message signed with this selector.",
        fix: "Generate a 2048-bit RSA key pair, publish the public key at a new \
              selector (for example <new selector>._domainkey.<domain> with \
              v=DKIM1; k=rsa; p=<public key>), switch signing to it, then publish an \
              empty p= at the old selector.",
        refs: &["RFC 8301 §3.2"],
    };
    DKIM_KEY_1024 = CatalogEntry {
        code: "dkim.key_1024",
        severity: Severity::Warning,
        title: "DKIM key is only 1024 bits",
        why: "1024-bit RSA keys still verify, but they are the minimum allowed and \
              increasingly within reach of well-funded attackers; the standard \
              recommends at least 2048 bits. A forged signature with your key would let \
              spoofed mail pass DKIM and DMARC.",
        fix: "Rotate to a 2048-bit key: publish it at a new selector, switch signing to \
              it, and once mail signed with the old key has been delivered, publish an \
              empty p= at the old selector. A 2048-bit key is longer than 255 bytes, so \
              split it into several quoted strings within one TXT record.",
        refs: &["RFC 8301 §3.2"],
    };
    DKIM_KEY_INVALID = CatalogEntry {
        code: "dkim.key_invalid",
        severity: Severity::Error,
        title: "DKIM key record does not hold a usable key",
        why: "The p= value does not decode to a valid public key of the type named in \
              k= (rsa when k= is absent, or ed25519), often because it was cut short or \
              picked up stray characters when pasted into DNS. Every signature made with \
              this selector fails.",
        fix: "Copy the public key again from your signing service and publish it in full \
              at <selector>._domainkey.<domain>, for example: \
              v=DKIM1; k=rsa; p=<base64 public key>. Split a long key into several \
              quoted strings inside one TXT record rather than shortening it.",
        refs: &["RFC 6376 §3.6.1", "RFC 8463"],
    };
    DKIM_TESTING_MODE = CatalogEntry {
        code: "dkim.testing_mode",
        severity: Severity::Warning,
        title: "DKIM key is flagged as testing (t=y)",
        why: "t=y says the domain is only testing DKIM and asks receivers not to treat \
              its signed mail differently from unsigned mail. Receivers interpret this \
              differently, and some give the signatures less weight, so the flag can \
              cost you the benefit of DKIM once your setup is finished.",
        fix: "Once signing works, remove t=y from the key record at \
              <selector>._domainkey.<domain>, for example: v=DKIM1; k=rsa; p=<public key>.",
        refs: &["RFC 6376 §3.6.1"],
    };
    DKIM_SHA1_ONLY = CatalogEntry {
        code: "dkim.sha1_only",
        severity: Severity::Warning,
        title: "DKIM key is restricted to SHA-1 (h=sha1)",
        why: "h=sha1 says this key may be used only with SHA-1 signatures. SHA-1 is no \
              longer accepted for DKIM, and a receiver that honours h= rejects SHA-256 \
              signatures made with this key, so mail signed with it is at risk of \
              failing DKIM.",
        fix: "Remove the h= tag (all hash algorithms are then allowed) or set h=sha256, \
              and make sure the service signs with rsa-sha256, for example: \
              v=DKIM1; k=rsa; p=<public key>.",
        refs: &["RFC 6376 §3.6.1", "RFC 8301 §3.1"],
    };
    // ----------------------------------------------------------------------
    // MX, MTA-STS, TLS-RPT, BIMI, DNSSEC
    // ----------------------------------------------------------------------
    MX_MISSING = CatalogEntry {
        code: "mx.missing",
        severity: Severity::Warning,
        title: "Domain has no MX record",
        why: "Without an MX record, other servers deliver mail for the domain to its A \
              or AAAA address, if it has one. Replies, bounces and feedback for your \
              mail may be lost, and some receivers distrust mail from a domain that \
              cannot receive mail.",
        fix: "Publish MX records for the servers that receive your mail, for example: \
              <domain>. MX 10 <mail host>. If the domain should never receive mail, \
              publish a null MX instead: <domain>. MX 0 .",
        refs: &["RFC 5321 §5.1", "RFC 7505"],
    };
    MX_NULL = CatalogEntry {
        code: "mx.null",
        severity: Severity::Info,
        title: "Domain publishes a null MX and accepts no mail",
        why: "MX 0 . declares that the domain receives no mail. Senders fail mail \
              addressed to it at once, and receivers may refuse mail that claims to come \
              from it, since replies and bounces could not be returned.",
        fix: "No change is needed if the domain is not used for email. If it should \
              receive mail, replace the null MX with MX records for your mail servers.",
        refs: &["RFC 7505"],
    };
    MX_TARGET_UNRESOLVABLE = CatalogEntry {
        code: "mx.target_unresolvable",
        severity: Severity::Error,
        title: "An MX host has no A or AAAA address",
        why: "Senders look up the address of each MX host; a host with neither an A nor \
              an AAAA record cannot be reached, so mail routed to it is delayed, and \
              bounces if no other MX works. Replies and bounces for your own mail can be \
              lost too.",
        fix: "Correct the MX host name named in the detail, publish A/AAAA records for \
              it, or remove the MX record if that server is retired.",
        refs: &["RFC 5321 §5.1"],
    };
    MX_TARGET_IS_IP = CatalogEntry {
        code: "mx.target_is_ip",
        severity: Severity::Error,
        title: "MX record points to an IP address instead of a host name",
        why: "An MX record must name a host, not an address. Senders look the address up \
              as if it were a host name, find nothing, and cannot deliver mail through \
              that MX.",
        fix: "Give the server a host name with an A/AAAA record and point the MX at it, \
              for example: mail.<domain>. A 192.0.2.10 and <domain>. MX 10 mail.<domain>.",
        refs: &["RFC 1035 §3.3.9", "RFC 5321 §5.1"],
    };
    MX_TARGET_IS_CNAME = CatalogEntry {
        code: "mx.target_is_cname",
        severity: Severity::Warning,
        title: "MX record points to a CNAME alias",
        why: "The host named in an MX record must not be an alias. Most senders follow \
              the CNAME anyway, but some do not, and mail from them may be delayed or \
              bounce.",
        fix: "Point the MX record at the canonical host name the CNAME leads to (the \
              final name that has the A/AAAA records).",
        refs: &["RFC 5321 §5.1", "RFC 2181 §10.3"],
    };
    MX_PRIVATE_ADDRESS = CatalogEntry {
        code: "mx.private_address",
        severity: Severity::Error,
        title: "An MX host resolves to a private or local address",
        why: "Private, loopback and link-local addresses (such as 10.x.x.x, 192.168.x.x, \
              127.0.0.1 or fe80::) cannot be reached from the internet, so senders \
              cannot deliver mail to that host. This usually means an internal DNS entry \
              leaked into the public zone.",
        fix: "Publish the server's public address in the host's A/AAAA records, or \
              point the MX at a host that has one.",
        refs: &["RFC 5321 §5.1", "RFC 1918", "RFC 6890"],
    };
    MTA_STS_MISSING = CatalogEntry {
        code: "mta_sts.missing",
        severity: Severity::Info,
        title: "No MTA-STS policy published",
        why: "MTA-STS tells sending servers to deliver to you only over verified, \
              encrypted connections. Without it, an attacker on the network path can \
              downgrade delivery to plain text and read or alter mail sent to you.",
        fix: "Serve a policy file at https://mta-sts.<domain>/.well-known/mta-sts.txt \
              with the lines version: STSv1, mode: testing, mx: <mail host> and \
              max_age: 604800, then publish a TXT record at _mta-sts.<domain>, for \
              example: v=STSv1; id=20250101000000. Move to mode: enforce once TLS \
              reports show no failures.",
        refs: &["RFC 8461 §3.1", "RFC 8461 §3.2"],
    };
    MTA_STS_RECORD_INVALID = CatalogEntry {
        code: "mta_sts.record_invalid",
        severity: Severity::Error,
        title: "MTA-STS TXT record is malformed or duplicated",
        why: "Senders read the _mta-sts TXT record to learn that a policy exists and \
              when it changes. If the record is malformed, or there is more than one, \
              they behave as if the domain had no MTA-STS policy, so it gives no \
              protection.",
        fix: "Keep exactly one TXT record at _mta-sts.<domain> of the form \
              v=STSv1; id=<1 to 32 letters or digits>, for example: \
              v=STSv1; id=20250101000000, and change the id whenever the policy file \
              changes.",
        refs: &["RFC 8461 §3.1"],
    };
    MTA_STS_POLICY_UNREACHABLE = CatalogEntry {
        code: "mta_sts.policy_unreachable",
        severity: Severity::Error,
        title: "MTA-STS policy file cannot be fetched over HTTPS",
        why: "Senders must download the policy from \
              https://mta-sts.<domain>/.well-known/mta-sts.txt with a valid certificate \
              and a direct answer; redirects are not followed. If that fails, senders \
              without a cached copy cannot apply it, so the TXT record promises \
              protection that is not delivered.",
        fix: "Serve the policy at exactly https://mta-sts.<domain>/.well-known/mta-sts.txt \
              with HTTP status 200, Content-Type text/plain and a certificate valid for \
              mta-sts.<domain>, without any redirect.",
        refs: &["RFC 8461 §3.3"],
    };
    MTA_STS_POLICY_INVALID = CatalogEntry {
        code: "mta_sts.policy_invalid",
        severity: Severity::Error,
        title: "MTA-STS policy file is malformed",
        why: "Senders treat a policy file they cannot parse (a missing version, mode, \
              max_age or mx line, or an unknown mode) as if no policy existed, so mail \
              to you gets no protection from it.",
        fix: "Serve a plain-text file with one key: value pair per line: version: STSv1, \
              mode: enforce (or testing), one mx: line per mail host or wildcard such as \
              *.<mail provider domain>, and max_age: 604800.",
        refs: &["RFC 8461 §3.2"],
    };
    MTA_STS_TESTING_MODE = CatalogEntry {
        code: "mta_sts.testing_mode",
        severity: Severity::Info,
        title: "MTA-STS policy is in testing mode",
        why: "In mode: testing, senders report TLS problems (when TLS-RPT is set up) but \
              still deliver over unverified or unencrypted connections, so the policy \
              does not yet protect your mail.",
        fix: "Once TLS reports show that senders reach all your MX hosts without errors, \
              change the policy to mode: enforce and update the id in the _mta-sts TXT \
              record so senders fetch it again.",
        refs: &["RFC 8461 §5", "RFC 8460"],
    };
    MTA_STS_MX_NOT_COVERED = CatalogEntry {
        code: "mta_sts.mx_not_covered",
        severity: Severity::Error,
        title: "An MX host is not covered by the enforcing MTA-STS policy",
        why: "Under mode: enforce, senders deliver only to MX hosts that match an mx: \
              line of the policy. A host that matches none is refused, so mail that \
              would go to it is delayed, or bounces if no other MX is usable.",
        fix: "Add an mx: line for the host named in the detail (or a wildcard such as \
              mx: *.<mail provider domain>) to the policy file, then change the id in \
              the _mta-sts TXT record so senders refresh it. If the MX record is stale, \
              remove it instead.",
        refs: &["RFC 8461 §4.1", "RFC 8461 §5.1"],
    };
    TLS_RPT_MISSING = CatalogEntry {
        code: "tls_rpt.missing",
        severity: Severity::Info,
        title: "No TLS reporting (TLS-RPT) record",
        why: "TLS-RPT asks sending servers to send you daily reports about failed \
              encrypted connections to your mail servers. Without it, certificate \
              problems or MTA-STS mistakes that delay or block incoming mail go \
              unnoticed.",
        fix: "Publish a TXT record at _smtp._tls.<domain>, for example: \
              v=TLSRPTv1; rua=mailto:tls-reports@<domain>.",
        refs: &["RFC 8460 §3"],
    };
    TLS_RPT_INVALID = CatalogEntry {
        code: "tls_rpt.invalid",
        severity: Severity::Error,
        title: "TLS-RPT record is malformed",
        why: "Senders ignore a TLS-RPT record they cannot parse, so you receive no \
              reports about failed TLS connections even though you asked for them.",
        fix: "Publish exactly one TXT record at _smtp._tls.<domain> starting with \
              v=TLSRPTv1; and with a rua= of mailto: or https: addresses, for example: \
              v=TLSRPTv1; rua=mailto:tls-reports@<domain>.",
        refs: &["RFC 8460 §3"],
    };
    BIMI_MISSING = CatalogEntry {
        code: "bimi.missing",
        severity: Severity::Info,
        title: "No BIMI record published",
        why: "BIMI lets supporting mailbox providers show your brand logo next to \
              authenticated mail. It is optional; without it your messages simply show \
              no logo.",
        fix: "Once DMARC is at p=quarantine or p=reject, publish a TXT record at \
              default._bimi.<domain>, for example: \
              v=BIMI1; l=https://<domain>/logo.svg; a=https://<domain>/mark.pem. The \
              logo must be an SVG Tiny PS file, and some providers, Gmail among them, \
              also require a mark certificate (a=).",
        refs: &[BIMI_DRAFT, BIMI_GROUP],
    };
    BIMI_INVALID = CatalogEntry {
        code: "bimi.invalid",
        severity: Severity::Error,
        title: "BIMI record is malformed",
        why: "Mailbox providers ignore a BIMI record they cannot parse, so your logo is \
              not shown.",
        fix: "Publish one TXT record at default._bimi.<domain> of the form \
              v=BIMI1; l=<https URL of an SVG Tiny PS logo>; a=<https URL of the mark \
              certificate, if you have one>.",
        refs: &[BIMI_DRAFT, BIMI_GROUP],
    };
    BIMI_DMARC_NOT_ENFORCED = CatalogEntry {
        code: "bimi.dmarc_not_enforced",
        severity: Severity::Warning,
        title: "BIMI is published but DMARC does not enforce",
        why: "Providers show a BIMI logo only when the applicable DMARC policy is \
              p=quarantine or p=reject applied to all mail. With p=none, or pct below \
              100, the BIMI record is ignored and no logo appears.",
        fix: "Move DMARC to p=quarantine or p=reject and remove any pct= below 100, for \
              example: v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@<domain>.",
        refs: &[BIMI_DRAFT, BIMI_GROUP, "RFC 7489 §6.3"],
    };
    BIMI_RECORD_AT_APEX = CatalogEntry {
        code: "bimi.record_at_apex",
        severity: Severity::Warning,
        title: "BIMI record published at the domain instead of at default._bimi",
        why: "Mailbox providers look for BIMI only at <selector>._bimi.<domain>, \
              default._bimi.<domain> unless a message names another selector. A \
              v=BIMI1 record at the domain itself is never read, so no logo is shown \
              from it.",
        fix: "Publish the record at default._bimi.<domain> and delete the TXT record at \
              <domain> that starts with v=BIMI1.",
        refs: &[BIMI_DRAFT, BIMI_GROUP],
    };
    BIMI_UNKNOWN_TAGS = CatalogEntry {
        code: "bimi.unknown_tags",
        severity: Severity::Info,
        title: "BIMI record has tags the specification does not define",
        why: "Mailbox providers ignore tags the BIMI specification does not define, so \
              whatever they were meant to say has no effect. A misspelled l= or a= \
              tag leaves the logo or the certificate unpublished.",
        fix: "Keep only v=, l= and a= (and avp= where a provider asks for it), spelled \
              as the specification writes them, for example: \
              v=BIMI1; l=https://<domain>/logo.svg; a=https://<domain>/mark.pem.",
        refs: &[BIMI_DRAFT],
    };
    DNSSEC_UNSIGNED = CatalogEntry {
        code: "dnssec.unsigned",
        severity: Severity::Info,
        title: "Domain's zone is not signed with DNSSEC",
        why: "Without DNSSEC, receivers cannot verify that DNS answers for your domain \
              are genuine, so a forged answer could redirect incoming mail or replace \
              your SPF, DKIM or DMARC records. DNSSEC is also required for DANE, which \
              protects delivery to your mail servers.",
        fix: "Enable DNSSEC signing at your DNS provider and publish the DS record it \
              gives you at your domain registrar.",
        refs: &["RFC 4033", "RFC 4035 §4.3", "RFC 7672"],
    };
    DNSSEC_BOGUS = CatalogEntry {
        code: "dnssec.bogus",
        severity: Severity::Error,
        title: "DNSSEC validation fails for the domain",
        why: "Validating resolvers refuse DNS answers whose signatures do not check \
              out, so for every receiver that validates, lookups of your MX, SPF, DKIM \
              and DMARC records fail: mail to you is deferred or bounces, and mail from \
              you fails authentication.",
        fix: "Check that the DS record at your registrar matches a current key of the \
              zone and that no signature has expired; this usually follows a key \
              rollover or a change of DNS provider. If it cannot be repaired quickly, \
              remove the DS record at the registrar until the zone is signed correctly.",
        refs: &["RFC 4035 §4.3", "RFC 4035 §5"],
    };
    // DNSSEC as mailvet validates it (src/dns/dnssec): MX hosts' zones and
    // the upstream's AD bit
    DNSSEC_MX_BOGUS = CatalogEntry {
        code: "dnssec.mx_bogus",
        severity: Severity::Error,
        title: "DNSSEC validation fails for an MX host",
        why: "A sender whose resolver validates DNSSEC cannot look up the address of an \
              MX host whose answers fail validation, so it cannot deliver to that host: \
              with every MX host in that state, mail to the domain is deferred and then \
              bounces.",
        fix: "Repair DNSSEC for the MX host's zone (the DS at its parent must match a \
              current key, and no signature may have expired), or point the MX record at \
              a host whose zone validates.",
        refs: &["RFC 4035 §5", "RFC 5321 §5.1"],
    };
    DNSSEC_MX_UNSIGNED = CatalogEntry {
        code: "dnssec.mx_unsigned",
        severity: Severity::Info,
        title: "An MX host of a signed domain is in an unsigned zone",
        why: "The domain's own zone is signed, but the MX host's address and any TLSA \
              records for it come from a zone outside the chain of trust: they can be \
              forged, and DANE cannot protect delivery to that host.",
        fix: "Sign the MX host's zone and publish its DS record at the parent, or use \
              MX hosts in a signed zone (your own, or a provider that signs).",
        refs: &["RFC 4035 §4.3", "RFC 7672 §2.2"],
    };
    DNSSEC_AD_DISAGREES = CatalogEntry {
        code: "dnssec.ad_disagrees",
        severity: Severity::Warning,
        title: "The resolver's AD bit disagrees with mailvet's own DNSSEC validation",
        why: "The resolver mailvet asked set (or withheld) the AD bit in a way mailvet's \
              own validation from the trust anchor does not confirm. Software that trusts \
              that resolver's AD bit, such as a DANE-aware mail server behind it, then \
              reaches a different verdict than a validating receiver would: the resolver \
              may not validate, may forward from one that does not, or may run with other \
              trust anchors.",
        fix: "Check the resolver's DNSSEC settings (validation on, current root trust \
              anchor, no forwarding to a resolver that sets AD without validating), or \
              point mail software at a resolver that validates; run mailvet with --dns \
              pointing at it to compare.",
        refs: &["RFC 4035 §3.2.3", "RFC 6840 §5.7"],
    };
    // ----------------------------------------------------------------------
    // SMTP transport: the probe of every MX address (--probe-smtp)
    // ----------------------------------------------------------------------
    TLS_STARTTLS_MISSING = CatalogEntry {
        code: "tls.starttls_missing",
        severity: Severity::Warning,
        title: "An MX host does not offer STARTTLS",
        why: "The server answered but did not list STARTTLS after EHLO, so every \
              message to it travels in clear text, readable and changeable by anyone on \
              the path. Senders that require TLS (MTA-STS enforce, DANE) cannot deliver \
              to it at all.",
        fix: "Enable STARTTLS on the mail server named in the detail with a certificate \
              for its MX host name (for Postfix: smtpd_tls_security_level = may with \
              smtpd_tls_chain_files set; for Exim: tls_certificate and tls_privatekey).",
        refs: &["RFC 3207", "RFC 8461 §4.2", "RFC 7672 §2.2"],
    };
    TLS_UNTESTABLE = CatalogEntry {
        code: "tls.untestable",
        severity: Severity::Info,
        title: "An MX address could not be tested from here",
        why: "The connection to this address was refused, or the server did not answer \
              within the probe's time limit. That says nothing about its TLS: many \
              networks block outbound port 25, and some servers drop unknown clients. \
              If senders see the same, mail to this address is deferred to the next MX.",
        fix: "Run the probe again from a host allowed to connect to port 25 (not a home \
              or cloud network that blocks it). If it still fails, check that the mail \
              server at the address in the detail is running and reachable from the \
              internet, or remove the address from DNS.",
        refs: &["RFC 5321 §4.5.3.2", "RFC 5321 §5.1"],
    };
    TLS_HANDSHAKE_FAILED = CatalogEntry {
        code: "tls.handshake_failed",
        severity: Severity::Warning,
        title: "STARTTLS is offered but the TLS handshake fails",
        why: "The server lists STARTTLS and accepts the command, but no TLS 1.2 or 1.3 \
              session can be set up with it. Senders then either give up on this host \
              or, if they do not require TLS, send in clear text after the failure; \
              under MTA-STS enforce or DANE the mail is deferred.",
        fix: "Check the server's TLS settings named in the detail: it must offer TLS 1.2 \
              or 1.3 with current cipher suites and a certificate and key that belong \
              together.",
        refs: &["RFC 3207 §4", "RFC 8996", "RFC 9325 §3"],
    };
    TLS_CERT_UNTRUSTED = CatalogEntry {
        code: "tls.cert_untrusted",
        severity: Severity::Warning,
        title: "An MX host's certificate chain does not lead to a trusted root",
        why: "The certificate is self-signed, issued by a private CA, or sent without \
              the intermediate certificates that link it to a public root. Senders that \
              verify certificates (MTA-STS enforce, most large providers when reporting) \
              refuse it; under MTA-STS enforce mail to this host is not delivered.",
        fix: "Install a certificate from a public CA (Let's Encrypt works) for the MX \
              host name, and configure the server to send the full chain (the \
              certificate followed by its intermediates).",
        refs: &["RFC 8461 §4.2", "RFC 5280 §6", "RFC 8460 §4.3"],
    };
    TLS_CERT_NAME_MISMATCH = CatalogEntry {
        code: "tls.cert_name_mismatch",
        severity: Severity::Warning,
        title: "An MX host's certificate does not name the host",
        why: "Senders that verify certificates check that the certificate names the MX \
              host they connected to. A certificate for another name (the provider's \
              generic name, an old host) fails that check, and under MTA-STS enforce \
              mail to this host is not delivered.",
        fix: "Add the MX host name from the detail to the certificate's subject \
              alternative names, or point the MX record at the name the certificate \
              covers.",
        refs: &["RFC 8461 §4.2", "RFC 6125 §6", "RFC 9525 §6.3"],
    };
    TLS_CERT_EXPIRED = CatalogEntry {
        code: "tls.cert_expired",
        severity: Severity::Warning,
        title: "An MX host's certificate has expired",
        why: "An expired certificate fails every sender that verifies certificates: \
              under MTA-STS enforce mail to this host is not delivered, and TLS reports \
              from large providers count every session as failed.",
        fix: "Renew the certificate of the MX host named in the detail and reload the \
              mail server; automate renewal (ACME) so it cannot lapse again.",
        refs: &["RFC 5280 §4.1.2.5", "RFC 8461 §4.2"],
    };
    TLS_CERT_EXPIRING = CatalogEntry {
        code: "tls.cert_expiring",
        severity: Severity::Warning,
        title: "An MX host's certificate expires within 14 days",
        why: "When the certificate expires, senders that verify certificates stop \
              delivering to this host (MTA-STS enforce) and TLS reports fill with \
              failures. Renewals that are automated normally happen 30 days ahead, so \
              this usually means renewal is failing.",
        fix: "Renew the certificate of the MX host named in the detail now and check \
              why automatic renewal did not run.",
        refs: &["RFC 5280 §4.1.2.5", "RFC 8461 §4.2"],
    };
    TLS_LEGACY_VERSION = CatalogEntry {
        code: "tls.legacy_version",
        severity: Severity::Warning,
        title: "An MX host still accepts TLS 1.0 or 1.1",
        why: "TLS 1.0 and 1.1 are deprecated: their weaknesses let an attacker on the \
              path who can force an old version read or alter mail, and security \
              audits and some compliance rules flag servers that still accept them.",
        fix: "Allow only TLS 1.2 and 1.3 on the mail server named in the detail (for \
              Postfix: smtpd_tls_protocols = >=TLSv1.2 and smtpd_tls_mandatory_protocols \
              = >=TLSv1.2; for Exim built with OpenSSL: \
              openssl_options = +no_tlsv1 +no_tlsv1_1).",
        refs: &["RFC 8996", "RFC 9325 §3.1.1"],
    };
    MTA_STS_ENFORCE_TLS_FAILURE = CatalogEntry {
        code: "mta_sts.enforce_tls_failure",
        severity: Severity::Error,
        title: "MTA-STS enforces TLS but an MX host fails it",
        why: "With mode: enforce, senders deliver only over TLS with a valid certificate \
              naming the MX host. This host offers no STARTTLS, fails the handshake or \
              presents a certificate that fails those checks, so senders that honour \
              the policy defer mail to it and bounce it after a few days if no other MX \
              works.",
        fix: "Repair the host's TLS as the tls finding for it says (certificate, name, \
              expiry, STARTTLS). Until it is repaired, switch the policy to \
              mode: testing and change the id in the _mta-sts TXT record so senders \
              refresh it.",
        refs: &["RFC 8461 §4.2", "RFC 8461 §5"],
    };
    // ----------------------------------------------------------------------
    // DANE for SMTP: TLSA at _25._tcp.<mx> (--probe-smtp)
    // ----------------------------------------------------------------------
    DANE_TLSA_MISMATCH = CatalogEntry {
        code: "dane.tlsa_mismatch",
        severity: Severity::Error,
        title: "An MX host's certificate matches none of its TLSA records",
        why: "The MX host publishes TLSA records in a DNSSEC-signed zone, so senders \
              that support DANE (Postfix, Exim, Microsoft 365, many providers) accept \
              only a certificate that matches one of them. This host presents a \
              certificate (or chain) that matches none, so those senders defer mail to \
              it and bounce it after a few days. This usually follows a certificate \
              renewal with a new key while the TLSA records still name the old one.",
        fix: "Publish a TLSA record for the certificate the host presents now, for \
              example 3 1 1 <SHA-256 of its public key> at _25._tcp.<mx host>, or \
              reinstall the certificate the records name. Keep the old record until \
              the new one has been published for at least twice its TTL.",
        refs: &["RFC 7672 §3.1", "RFC 7672 §3.2", "RFC 6698 §2.1"],
    };
    DANE_TLSA_INSECURE = CatalogEntry {
        code: "dane.tlsa_insecure",
        severity: Severity::Warning,
        title: "TLSA records are published in a zone without DNSSEC",
        why: "DANE works only with records a sender can verify through DNSSEC. The TLSA \
              records of this MX host are in a zone that is not signed (or whose parent \
              has no DS record for it), so every sender ignores them: the host gets no \
              protection against downgrade or a forged certificate, though the records \
              suggest it does.",
        fix: "Sign the zone of the MX host with DNSSEC and publish its DS record at the \
              parent (the registrar), or remove the TLSA records if DANE is not wanted.",
        refs: &["RFC 7672 §2.2", "RFC 6698 §4.1", "RFC 4035 §4.3"],
    };
    DANE_TLSA_UNUSABLE = CatalogEntry {
        code: "dane.tlsa_unusable",
        severity: Severity::Warning,
        title: "TLSA records that SMTP senders cannot use",
        why: "SMTP senders use only TLSA records of usage 2 (DANE-TA) or 3 (DANE-EE), \
              selector 0 or 1 and matching type 0, 1 or 2 with data of the right length. \
              Usages 0 and 1 (PKIX-TA, PKIX-EE) are not for SMTP, and other values are \
              unknown. When no record of the host is usable, DANE senders still insist on \
              TLS but cannot authenticate the server, which defeats the point.",
        fix: "Replace the records named in the detail with usage 3 or 2 records, for \
              example 3 1 1 <SHA-256 of the server's public key>.",
        refs: &["RFC 7672 §3.1.3", "RFC 6698 §2.1", "RFC 7218"],
    };
    DANE_NO_ROLLOVER = CatalogEntry {
        code: "dane.no_rollover",
        severity: Severity::Warning,
        title: "TLSA records leave no room for the next key",
        why: "Every usable TLSA record of this MX host pins the same key: the key of the \
              certificate it presents (or of one issuer). mailvet counts the distinct keys \
              the usable records pin (a record that matches no certificate the host \
              presents counts as a key of its own, published ahead of use); fewer than \
              two means that the next certificate with a new key, or from another CA, \
              matches no record, and DANE senders defer mail until the records are \
              changed and the old ones have expired from caches. Automatic renewals (ACME) \
              often change the key.",
        fix: "Publish a second record that will match the next key before it is used: \
              the next key's 3 1 1 record beside the current one, or a 2 1 1 record for \
              the issuing CA's key beside the 3 1 1 record. After a rollover, remove the \
              old record once the new key is in use.",
        refs: &["RFC 7671 §8", "RFC 7672 §3.1"],
    };
    DANE_MTA_STS_CONFLICT = CatalogEntry {
        code: "dane.mta_sts_conflict",
        severity: Severity::Warning,
        title: "DANE and MTA-STS disagree about an MX host",
        why: "Senders that support DANE follow the TLSA records and ignore MTA-STS; the \
              others follow the enforcing MTA-STS policy. For this host the two give \
              different answers (the policy does not list the host, or its certificate \
              passes one and fails the other), so whether mail is delivered depends on \
              which the sender implements, and failures show up for only part of the \
              senders.",
        fix: "Make the host pass both: list it in the policy's mx lines, use a \
              certificate from a public CA that names the host, and publish TLSA records \
              that match it.",
        refs: &["RFC 8461 §2", "RFC 7672 §1.3"],
    };
    // ----------------------------------------------------------------------
    // Message checks (POST a message)
    // ----------------------------------------------------------------------
    SPF_FAIL = CatalogEntry {
        code: "spf.fail",
        severity: Severity::Error,
        title: "SPF fails for the envelope sender",
        why: "The sending server's IP address is explicitly not authorised by the SPF \
              record of the envelope sender (MAIL FROM) domain. Receivers may reject the \
              message outright, and unless an aligned DKIM signature passes, DMARC \
              fails too.",
        fix: "Authorise the sending service in the SPF record of the MAIL FROM domain, \
              for example with include:<provider's SPF domain> or ip4:<sending IP>, or \
              have the service use its own MAIL FROM (return-path) domain under \
              <domain> that it has set up for you.",
        refs: &["RFC 7208 §8.4"],
    };
    SPF_SOFTFAIL = CatalogEntry {
        code: "spf.softfail",
        severity: Severity::Warning,
        title: "SPF softfail for the envelope sender",
        why: "The sending IP is not listed in the SPF record of the envelope sender \
              (MAIL FROM) domain, whose record ends in ~all. Receivers usually accept \
              the message but treat it as suspicious, and SPF does not count towards \
              DMARC.",
        fix: "Authorise the sending service in the SPF record of the MAIL FROM domain, \
              for example with include:<provider's SPF domain> or ip4:<sending IP>.",
        refs: &["RFC 7208 §8.5"],
    };
    DKIM_MISSING = CatalogEntry {
        code: "dkim.missing",
        severity: Severity::Error,
        title: "Message has no DKIM signature",
        why: "Without a DKIM signature, receivers cannot confirm that the message comes \
              from your domain unaltered, DMARC can pass only through SPF (which breaks \
              when mail is forwarded), and Gmail, Yahoo and Microsoft require DKIM from \
              bulk senders.",
        fix: "Turn on DKIM signing for your domain at the service that sent this \
              message and publish the key it gives you at \
              <selector>._domainkey.<domain>, for example: v=DKIM1; k=rsa; p=<public key>.",
        refs: &["RFC 6376 §3.5", GMAIL, YAHOO, MICROSOFT],
    };
    DKIM_FAIL = CatalogEntry {
        code: "dkim.fail",
        severity: Severity::Error,
        title: "DKIM signature does not verify",
        why: "A failing signature means the message changed after signing (for example \
              a footer added by a gateway or a mailing list), or the published key is \
              not the one used to sign, or is unusable. A failed signature counts as no \
              signature for DMARC.",
        fix: "If the body hash failed, find what modifies the message after signing \
              (footers, link rewriting, re-encoding) and sign after it or stop it. If \
              the signature or key failed, make sure the key published at \
              <selector>._domainkey.<domain> is the one the service signs with.",
        refs: &["RFC 6376 §6.1.3", "RFC 8601 §2.7.1"],
    };
    DKIM_BODY_LENGTH_TAG = CatalogEntry {
        code: "dkim.body_length_tag",
        severity: Severity::Warning,
        title: "DKIM signature covers only part of the body (l= tag)",
        why: "With l=, the signature covers only the first part of the body, so anyone \
              holding a copy of your message can append their own content (a link, a \
              different offer) and the signature still verifies. Some receivers \
              distrust such signatures.",
        fix: "Configure the signer not to use the l= (body length) tag, so the whole \
              body is signed.",
        refs: &["RFC 6376 §3.5", "RFC 6376 §8.2"],
    };
    DKIM_EXPIRED = CatalogEntry {
        code: "dkim.expired",
        severity: Severity::Error,
        title: "DKIM signature has expired (x= in the past)",
        why: "The signature carries an expiry time (x=) that has passed, so receivers may \
              refuse it (result policy) and it then counts as no signature for DMARC. \
              This happens when the expiry window is shorter than delivery delays, or \
              the signing server's clock is wrong.",
        fix: "Set a longer expiry on the signer (several days) or stop setting x=, and \
              check that the signing server's clock is correct.",
        refs: &["RFC 6376 §3.5", "RFC 8601 §2.7.1"],
    };
    DKIM_SHA1 = CatalogEntry {
        code: "dkim.sha1",
        severity: Severity::Error,
        title: "DKIM signature uses rsa-sha1",
        why: "SHA-1 is no longer secure, and current DKIM rules forbid receivers from \
              treating rsa-sha1 signatures as valid. The signature is reported with the \
              result policy: it may verify mathematically, but it does not count, so \
              DMARC cannot pass through it.",
        fix: "Configure the signer to use rsa-sha256 (a=rsa-sha256); the same key can \
              be kept.",
        refs: &["RFC 8301 §3.1", "RFC 8601 §2.7.1"],
    };
    DKIM_NOT_ALIGNED = CatalogEntry {
        code: "dkim.not_aligned",
        severity: Severity::Warning,
        title: "No passing DKIM signature aligns with the From domain",
        why: "A signature passed, but its d= domain is not the From address's domain \
              (nor, under relaxed alignment, in the same organizational domain), so it \
              does not count for DMARC. Typically the sending service signs with its own \
              domain instead of yours.",
        fix: "Set up DKIM for your own domain at the sending service (often called \
              custom or branded DKIM) so it signs with d=<domain>, and publish its key \
              at <selector>._domainkey.<domain>.",
        refs: &["RFC 7489 §3.1.1", "RFC 9989", GMAIL, YAHOO],
    };
    DKIM_FROM_NOT_OVERSIGNED = CatalogEntry {
        code: "dkim.from_not_oversigned",
        severity: Severity::Info,
        title: "From header is not oversigned by the DKIM signature",
        why: "Unless From is listed in h= one more time than it occurs, someone can add \
              a second From header to a signed copy of your message without breaking \
              the signature, and some mail programs display the added one. Listing it \
              twice (oversigning) locks it down.",
        fix: "Configure the signer to oversign From, that is list it twice in h=, for \
              example h=from:from:to:subject:date; most signing software has an option \
              for this.",
        refs: &["RFC 6376 §5.4.2", "RFC 6376 §8.15"],
    };
    DKIM_NOT_EVALUATED = CatalogEntry {
        code: "dkim.not_evaluated",
        severity: Severity::Warning,
        title: "Some DKIM signatures were not verified (per-message limit)",
        why: "The message carries more DKIM signatures, or more kinds of body hash \
              among them, than one message may cost to verify here (20 signatures and \
              4 body hashes by default), so the ones beyond were not checked and the \
              verdicts rest on the others. A real message has a few signatures; this \
              many is usually a broken signer or a message built to waste a \
              receiver's time, and receivers bound their work the same way.",
        fix: "Sign each message once per signing domain (an Ed25519 signature beside \
              an RSA one is fine), with the same canonicalization and without l=, and \
              do not keep stale DKIM-Signature headers when a message is re-signed.",
        refs: &["RFC 6376 §6.1", "RFC 6376 §3.7"],
    };
    DMARC_FAIL = CatalogEntry {
        code: "dmarc.fail",
        severity: Severity::Error,
        title: "DMARC fails for the message",
        why: "Neither SPF nor DKIM passed for a domain aligned with the From address, so \
              receivers apply your DMARC policy: with p=reject the message is refused, \
              with p=quarantine it goes to spam, and with p=none it is delivered as \
              usual, though Gmail, Yahoo and Microsoft may still filter unauthenticated \
              bulk mail.",
        fix: "Make at least one of them pass and align: sign with DKIM using \
              d=<From domain>, or have the sender use a MAIL FROM domain under the From \
              domain that its SPF record authorises.",
        refs: &[
            "RFC 7489 §3.1",
            "RFC 7489 §6.6.2",
            "RFC 9989",
            GMAIL,
            YAHOO,
            MICROSOFT,
        ],
    };
    IPREV_FAIL = CatalogEntry {
        code: "iprev.fail",
        severity: Severity::Warning,
        title: "Sending IP has no matching reverse DNS",
        why: "The sending server's IP address has no PTR (reverse DNS) name, or that \
              name does not resolve back to the same IP. Gmail and Yahoo require \
              matching forward and reverse DNS, and mail from such servers is often \
              rejected or sent to spam.",
        fix: "Ask whoever controls the IP (your hosting provider, ISP or sending \
              service) to set its PTR record to a host name such as mail.<domain>, and \
              publish an A/AAAA record for that name pointing back to the same IP.",
        refs: &["RFC 8601 §3", GMAIL, YAHOO],
    };
    ARC_FAIL = CatalogEntry {
        code: "arc.fail",
        severity: Severity::Warning,
        title: "ARC chain is present but fails validation",
        why: "ARC lets forwarders and mailing lists vouch for the authentication results \
              they saw before they changed a message. A broken chain cannot be trusted, \
              so receivers ignore it and judge the message on its own SPF, DKIM and \
              DMARC results, which forwarding often breaks.",
        fix: "ARC is added by intermediaries, not by the original sender; the detail \
              names the hop that broke the chain. If that hop is a system you run (a \
              gateway or list server), fix its ARC sealing or stop it from modifying \
              messages after they are sealed.",
        refs: &["RFC 8617 §5.2"],
    };
    MSG_MULTIPLE_FROM = CatalogEntry {
        code: "msg.multiple_from",
        severity: Severity::Error,
        title: "Message has more than one From address or header",
        why: "A message may carry only one From header, and DMARC cannot decide which \
              domain to check when there are several addresses. Major receivers commonly \
              reject such messages, and an extra From is a known spoofing trick.",
        fix: "Send with a single From header holding a single address, for example: \
              From: Example News <news@example.com>. Put other contact addresses in \
              Reply-To if needed.",
        refs: &["RFC 5322 §3.6", "RFC 7489 §6.6.1"],
    };
    MSG_MISSING_HEADER = CatalogEntry {
        code: "msg.missing_header",
        severity: Severity::Error,
        title: "Message lacks a Date, From or Message-ID header",
        why: "Every message must carry a Date and a From header, and is expected to \
              carry a Message-ID. Gmail requires messages to follow the Internet Message \
              Format (RFC 5322), and receivers often reject or filter messages without \
              these headers.",
        fix: "Configure the sending application or service to add the header named in \
              the detail: a Date such as Date: Tue, 1 Jul 2025 10:00:00 +0000, a From \
              address at your domain, and a unique Message-ID such as \
              Message-ID: <20250701100000.a1b2c3@example.com>.",
        refs: &["RFC 5322 §3.6", GMAIL],
    };
    BULK_NO_LIST_UNSUBSCRIBE = CatalogEntry {
        code: "bulk.no_list_unsubscribe",
        severity: Severity::Warning,
        title: "Bulk message has no List-Unsubscribe header",
        why: "Gmail and Yahoo require bulk and marketing mail to offer unsubscribing \
              through the List-Unsubscribe header, which they show as an unsubscribe \
              button. Without it, recipients are more likely to press \"Report spam\", \
              which harms your sender reputation.",
        fix: "Add both headers: List-Unsubscribe: <https://example.com/unsub/opaque-token>, \
              <mailto:unsub@example.com> and List-Unsubscribe-Post: \
              List-Unsubscribe=One-Click; cover both with your DKIM signature and honour \
              requests within two days.",
        refs: &["RFC 2369 §3.2", "RFC 8058", GMAIL, YAHOO, MICROSOFT],
    };
    BULK_NO_ONE_CLICK = CatalogEntry {
        code: "bulk.no_one_click",
        severity: Severity::Warning,
        title: "List-Unsubscribe does not offer one-click unsubscribe",
        why: "Gmail and Yahoo require bulk senders to support one-click unsubscribe: an \
              https URI in List-Unsubscribe plus the header List-Unsubscribe-Post: \
              List-Unsubscribe=One-Click, so the mailbox provider can unsubscribe the \
              recipient with a single request. Without both, that requirement is unmet \
              and the provider's unsubscribe button may not appear.",
        fix: "Add List-Unsubscribe-Post: List-Unsubscribe=One-Click, include an https \
              URI in List-Unsubscribe (for example \
              <https://example.com/unsub/opaque-token>) that unsubscribes on a POST \
              request without further steps, and cover both headers with your DKIM \
              signature.",
        refs: &["RFC 8058", GMAIL, YAHOO],
    };
    ENVELOPE_INFERRED = CatalogEntry {
        code: "envelope.inferred",
        severity: Severity::Info,
        title: "Envelope details were inferred from the message headers",
        why: "The sending IP, HELO name and MAIL FROM were not supplied, so they were \
              read from the Received and Return-Path headers. Those headers can be \
              incomplete or added by intermediate servers, so the SPF and reverse DNS \
              results may differ from what the receiver actually saw.",
        fix: "For an exact result, supply the sending IP, HELO name and MAIL FROM \
              address of the real delivery, or check the message as received, with \
              the headers added by the receiving server.",
        refs: &["RFC 5321 §4.4"],
    };
    // ----------------------------------------------------------------------
    // DNS blocklists and content (message check)
    // ----------------------------------------------------------------------
    DNSBL_LISTED = CatalogEntry {
        code: "dnsbl.listed",
        severity: Severity::Error,
        title: "The sending IP is listed on a DNS blocklist",
        why: "Receivers ask DNS blocklists about the address that connects to them, \
              and many reject or junk mail from a listed address outright, whatever its \
              authentication. A listing usually follows spam complaints, mail to spam \
              traps or a compromised account sending from that address.",
        fix: "Read the list's reason (shown with the listing, or on its lookup page), \
              stop what caused it, then request delisting from the list's operator. \
              On a shared address of your email provider, ask the provider to act.",
        refs: &["RFC 5782 §2.1", GMAIL],
    };
    DNSBL_UNCHECKED = CatalogEntry {
        code: "dnsbl.unchecked",
        severity: Severity::Info,
        title: "A DNS blocklist could not be checked",
        why: "The list did not say whether the sending IP is listed: it refused the \
              question (for example Spamhaus answers 127.255.255.254 to queries that \
              reach it through public resolvers), rate-limited it, or did not answer. \
              This is not a listing, and not a clean result either.",
        fix: "Ask the list through a resolver of your own rather than a public one \
              (mailvet --dns), register the resolver with lists that require it, or \
              look the IP up on the list's website.",
        refs: &["RFC 5782 §2.1", "RFC 5782 §5"],
    };
    CONTENT_NO_TEXT_PART = CatalogEntry {
        code: "content.no_text_part",
        severity: Severity::Warning,
        title: "HTML message without a plain-text version",
        why: "Spam filters score HTML-only mail higher, because legitimate senders \
              usually include a text/plain alternative; text-only mail clients, \
              screen readers and watches then show nothing readable.",
        fix: "Send the message as multipart/alternative with a text/plain part that \
              carries the same content as the HTML part; most sending platforms can \
              generate it automatically.",
        refs: &["RFC 2046 §5.1.4"],
    };
    CONTENT_IMAGE_ONLY = CatalogEntry {
        code: "content.image_only",
        severity: Severity::Warning,
        title: "HTML body is all or nearly all images",
        why: "A message that is one or more images with almost no text is a classic \
              way of hiding spam from text filters, so filters penalize it; and most \
              mail clients block images until the reader allows them, so recipients \
              see an empty message.",
        fix: "Put the message's words in HTML text rather than in images, keep images \
              for illustration, and give each image an alt text.",
        refs: &["M3AAWG Sender Best Common Practices"],
    };
    CONTENT_LINK_NOT_ALIGNED = CatalogEntry {
        code: "content.link_not_aligned",
        severity: Severity::Info,
        title: "Links point at domains other than the From domain",
        why: "Filters compare the domains a message links to with the domain it comes \
              from: links to unrelated domains are a mark of phishing, and each linked \
              domain's reputation counts toward the message. Click-tracking domains of \
              an email provider are the common, legitimate cause.",
        fix: "Link to your own domain, and set up your email provider's custom \
              (branded) tracking domain under it, for example click.<domain>, so that \
              tracked links align with your From domain.",
        refs: &["RFC 7489 §3.1", "M3AAWG Sender Best Common Practices"],
    };
    CONTENT_URL_SHORTENER = CatalogEntry {
        code: "content.url_shortener",
        severity: Severity::Warning,
        title: "Links go through a public URL shortener",
        why: "A public shortener hides where a link goes, and spammers use the same \
              shorteners to dodge domain blocklists, so filters score such links and \
              domain blocklists list shortener addresses. The message inherits the \
              reputation of everyone else's short links.",
        fix: "Link to the full address on your own domain, or use a shortener on a \
              domain of your own (a branded short domain).",
        refs: &["M3AAWG Sender Best Common Practices"],
    };
    CONTENT_HTML_CLIPPED = CatalogEntry {
        code: "content.html_clipped",
        severity: Severity::Warning,
        title: "HTML body is larger than Gmail shows",
        why: "Gmail clips a message whose HTML is larger than about 102 KB: it shows \
              \"[Message clipped]\" and hides the rest behind a link, including the \
              unsubscribe link and the tracking pixel usually placed at the bottom.",
        fix: "Bring the HTML under 102 KB: remove unused CSS and comments, inline less \
              styling, and move long content to a web page you link to.",
        refs: &[GMAIL],
    };
    CONTENT_TOO_LARGE = CatalogEntry {
        code: "content.too_large",
        severity: Severity::Warning,
        title: "Message is larger than 10 MB",
        why: "Many receiving systems refuse messages over 10 MB, and larger ones are \
              slow to deliver and to open on mobile connections. Base64 encoding makes \
              attachments about a third larger than their files.",
        fix: "Link to large files instead of attaching them, and compress images.",
        refs: &["RFC 1870 §4"],
    };
}

/// The codes only a message check produces; every other code is decided by
/// a domain's DNS.
pub const MESSAGE_CODES: &[Code] = &[
    SPF_FAIL,
    SPF_SOFTFAIL,
    DKIM_MISSING,
    DKIM_FAIL,
    DKIM_BODY_LENGTH_TAG,
    DKIM_EXPIRED,
    DKIM_SHA1,
    DKIM_NOT_ALIGNED,
    DKIM_FROM_NOT_OVERSIGNED,
    DKIM_NOT_EVALUATED,
    DMARC_FAIL,
    IPREV_FAIL,
    ARC_FAIL,
    MSG_MULTIPLE_FROM,
    MSG_MISSING_HEADER,
    BULK_NO_LIST_UNSUBSCRIBE,
    BULK_NO_ONE_CLICK,
    ENVELOPE_INFERRED,
    DNSBL_LISTED,
    DNSBL_UNCHECKED,
    CONTENT_NO_TEXT_PART,
    CONTENT_IMAGE_ONLY,
    CONTENT_LINK_NOT_ALIGNED,
    CONTENT_URL_SHORTENER,
    CONTENT_HTML_CLIPPED,
    CONTENT_TOO_LARGE,
];

/// The catalog entry for `code`, or `None` when no such code exists: for
/// codes that come from outside (a `mailvet check` config, a saved report).
pub fn lookup(code: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().copied().find(|entry| entry.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    /// Every code in the published catalog (docs/findings.md), with its severity.
    /// Adding a code means adding it here too; removing or changing one is a
    /// breaking change to the public contract.
    const EXPECTED: &[(&str, Severity)] = &[
        // SPF
        ("spf.missing", Severity::Error),
        ("spf.multiple_records", Severity::Error),
        ("spf.syntax", Severity::Error),
        ("spf.too_many_lookups", Severity::Error),
        ("spf.lookups_near_limit", Severity::Warning),
        ("spf.void_lookups", Severity::Error),
        ("spf.include_missing", Severity::Error),
        ("spf.include_loop", Severity::Error),
        ("spf.plus_all", Severity::Error),
        ("spf.neutral_all", Severity::Warning),
        ("spf.no_all", Severity::Warning),
        ("spf.softfail_all", Severity::Info),
        ("spf.ptr_used", Severity::Warning),
        ("spf.deprecated_rr_type", Severity::Info),
        ("spf.string_too_long", Severity::Error),
        ("spf.record_too_long", Severity::Warning),
        ("spf.dns_error", Severity::Warning),
        ("spf.walk_limit", Severity::Warning),
        ("spf.mx_too_many_hosts", Severity::Error),
        ("spf.terms_after_all", Severity::Warning),
        ("spf.sender_id", Severity::Info),
        ("spf.exp_unusable", Severity::Info),
        // DMARC
        ("dmarc.missing", Severity::Error),
        ("dmarc.multiple_records", Severity::Error),
        ("dmarc.syntax", Severity::Error),
        ("dmarc.policy_none", Severity::Warning),
        ("dmarc.subdomain_policy_none", Severity::Warning),
        ("dmarc.pct_partial", Severity::Warning),
        ("dmarc.tag_ignored", Severity::Warning),
        ("dmarc.historic_tags", Severity::Info),
        ("dmarc.no_rua", Severity::Warning),
        ("dmarc.rua_unauthorized", Severity::Warning),
        ("dmarc.inherited", Severity::Info),
        ("dmarc.record_at_apex", Severity::Warning),
        ("dmarc.dns_error", Severity::Warning),
        // DKIM (domain audit)
        ("dkim.no_selector_found", Severity::Warning),
        ("dkim.key_revoked", Severity::Info),
        ("dkim.key_too_short", Severity::Error),
        ("dkim.key_1024", Severity::Warning),
        ("dkim.key_invalid", Severity::Error),
        ("dkim.testing_mode", Severity::Warning),
        ("dkim.sha1_only", Severity::Warning),
        // MX, MTA-STS, TLS-RPT, BIMI, DNSSEC
        ("mx.missing", Severity::Warning),
        ("mx.null", Severity::Info),
        ("mx.target_unresolvable", Severity::Error),
        ("mx.target_is_ip", Severity::Error),
        ("mx.target_is_cname", Severity::Warning),
        ("mx.private_address", Severity::Error),
        ("mta_sts.missing", Severity::Info),
        ("mta_sts.record_invalid", Severity::Error),
        ("mta_sts.policy_unreachable", Severity::Error),
        ("mta_sts.policy_invalid", Severity::Error),
        ("mta_sts.testing_mode", Severity::Info),
        ("mta_sts.mx_not_covered", Severity::Error),
        ("tls_rpt.missing", Severity::Info),
        ("tls_rpt.invalid", Severity::Error),
        ("bimi.missing", Severity::Info),
        ("bimi.invalid", Severity::Error),
        ("bimi.dmarc_not_enforced", Severity::Warning),
        ("bimi.record_at_apex", Severity::Warning),
        ("bimi.unknown_tags", Severity::Info),
        ("dnssec.unsigned", Severity::Info),
        ("dnssec.bogus", Severity::Error),
        ("dnssec.mx_bogus", Severity::Error),
        ("dnssec.mx_unsigned", Severity::Info),
        ("dnssec.ad_disagrees", Severity::Warning),
        // SMTP transport
        ("tls.starttls_missing", Severity::Warning),
        ("tls.untestable", Severity::Info),
        ("tls.handshake_failed", Severity::Warning),
        ("tls.cert_untrusted", Severity::Warning),
        ("tls.cert_name_mismatch", Severity::Warning),
        ("tls.cert_expired", Severity::Warning),
        ("tls.cert_expiring", Severity::Warning),
        ("tls.legacy_version", Severity::Warning),
        ("mta_sts.enforce_tls_failure", Severity::Error),
        // DANE for SMTP (--probe-smtp)
        ("dane.tlsa_mismatch", Severity::Error),
        ("dane.tlsa_insecure", Severity::Warning),
        ("dane.tlsa_unusable", Severity::Warning),
        ("dane.no_rollover", Severity::Warning),
        ("dane.mta_sts_conflict", Severity::Warning),
        // Message checks
        ("spf.fail", Severity::Error),
        ("spf.softfail", Severity::Warning),
        ("dkim.missing", Severity::Error),
        ("dkim.fail", Severity::Error),
        ("dkim.body_length_tag", Severity::Warning),
        ("dkim.expired", Severity::Error),
        ("dkim.sha1", Severity::Error),
        ("dkim.not_aligned", Severity::Warning),
        ("dkim.from_not_oversigned", Severity::Info),
        ("dkim.not_evaluated", Severity::Warning),
        ("dmarc.fail", Severity::Error),
        ("iprev.fail", Severity::Warning),
        ("arc.fail", Severity::Warning),
        ("msg.multiple_from", Severity::Error),
        ("msg.missing_header", Severity::Error),
        ("bulk.no_list_unsubscribe", Severity::Warning),
        ("bulk.no_one_click", Severity::Warning),
        ("envelope.inferred", Severity::Info),
        // DNS blocklists and content
        ("dnsbl.listed", Severity::Error),
        ("dnsbl.unchecked", Severity::Info),
        ("content.no_text_part", Severity::Warning),
        ("content.image_only", Severity::Warning),
        ("content.link_not_aligned", Severity::Info),
        ("content.url_shortener", Severity::Warning),
        ("content.html_clipped", Severity::Warning),
        ("content.too_large", Severity::Warning),
    ];

    /// `^[a-z_]+\.[a-z0-9_]+$`, without pulling in a regex crate.
    fn is_valid_code(code: &str) -> bool {
        let Some((family, name)) = code.split_once('.') else {
            return false;
        };
        !family.is_empty()
            && family.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = HashSet::new();
        for entry in CATALOG {
            assert!(seen.insert(entry.code), "duplicate code {}", entry.code);
        }
    }

    #[test]
    fn codes_are_well_formed() {
        for entry in CATALOG {
            assert!(is_valid_code(entry.code), "malformed code {:?}", entry.code);
        }
        assert!(is_valid_code("mta_sts.missing"));
        assert!(is_valid_code("dkim.key_1024"));
        assert!(!is_valid_code("Spf.missing"));
        assert!(!is_valid_code("spf-missing"));
        assert!(!is_valid_code("spf.missing.x"));
        assert!(!is_valid_code(".missing"));
        assert!(!is_valid_code("spf."));
        assert!(!is_valid_code("dkim1.key"));
    }

    #[test]
    fn text_is_present_and_tidy() {
        for entry in CATALOG {
            let code = entry.code;
            for (field, text) in [
                ("title", entry.title),
                ("why", entry.why),
                ("fix", entry.fix),
            ] {
                assert!(!text.trim().is_empty(), "{code}: empty {field}");
                assert_eq!(text, text.trim(), "{code}: {field} has outer whitespace");
                // Catches a missing space before a `\` line continuation and
                // stray double spaces.
                assert!(!text.contains("  "), "{code}: {field} has a double space");
                assert!(!text.contains('\n'), "{code}: {field} has a line break");
            }
            assert!(
                !entry.title.ends_with('.'),
                "{code}: title ends with a period"
            );
        }
    }

    #[test]
    fn every_entry_has_refs() {
        for entry in CATALOG {
            assert!(!entry.refs.is_empty(), "{}: no refs", entry.code);
            for r in entry.refs {
                assert!(!r.trim().is_empty(), "{}: empty ref", entry.code);
            }
        }
    }

    #[test]
    fn lookup_finds_entries() {
        let entry = lookup("spf.too_many_lookups").expect("spf.too_many_lookups exists");
        assert_eq!(entry.code, "spf.too_many_lookups");
        assert_eq!(entry.severity, Severity::Error);
        assert!(lookup("spf.no_such_code").is_none());
        assert!(lookup("").is_none());
        for entry in CATALOG {
            assert!(std::ptr::eq(lookup(entry.code).unwrap(), *entry));
        }
    }

    #[test]
    fn catalog_matches_published_list() {
        let expected: BTreeMap<&str, Severity> = EXPECTED.iter().copied().collect();
        assert_eq!(expected.len(), EXPECTED.len(), "EXPECTED has duplicates");
        let actual: BTreeMap<&str, Severity> =
            CATALOG.iter().map(|e| (e.code, e.severity)).collect();
        let missing: Vec<_> = expected
            .keys()
            .filter(|c| !actual.contains_key(*c))
            .collect();
        let extra: Vec<_> = actual
            .keys()
            .filter(|c| !expected.contains_key(*c))
            .collect();
        assert!(
            missing.is_empty(),
            "codes missing from CATALOG: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "codes not in the published list: {extra:?}"
        );
        assert_eq!(
            actual, expected,
            "severities differ from the published list"
        );
        assert_eq!(CATALOG.len(), EXPECTED.len());
    }

    #[test]
    fn catalog_keeps_published_order() {
        let actual: Vec<&str> = CATALOG.iter().map(|e| e.code).collect();
        let expected: Vec<&str> = EXPECTED.iter().map(|(c, _)| *c).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn message_codes_are_catalog_codes() {
        for code in MESSAGE_CODES {
            assert!(
                CATALOG.contains(code),
                "{} is not in the catalog",
                code.code
            );
        }
    }
}
