//! sea-orm entities: the rows as the database holds them. Private to the
//! store; repositories hand out their own record types.

pub mod account;
pub mod account_link;
pub mod audit_entry;
pub mod authorization_code;
pub mod branch;
pub mod browser_session;
pub mod client;
pub mod desk_request;
pub mod library;
pub mod login_throttle;
pub mod logout_notification;
pub mod membership;
pub mod migrated_account;
pub mod migration_setting;
pub mod outbox_mail;
pub mod recovery_request;
pub mod refresh_family;
pub mod revoked_access_token;
pub mod session_client;
pub mod signing_key;
pub mod staff_role;
pub mod subscription_type;
pub mod username_reservation;
