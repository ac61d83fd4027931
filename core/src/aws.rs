//! The one place where AWS SDK clients get their shared configuration (S3
//! here, MediaConvert and CloudWatch in their crates). It decides between
//! static keys, for local stand-ins such as Garage, and the SDK's default
//! credential chain: environment (`AWS_ACCESS_KEY_ID`, …, also what Lambda
//! sets), shared profile, web identity, the ECS task role, then EC2's IMDS.
//! On AWS the keys stay unset and the task role is used.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

pub use aws_config::ConfigLoader;

use crate::config::ConfigError;
use crate::secret::Secret;

/// A static access key pair from our own `VOD_*` settings.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

impl StaticKeys {
    /// Both set: static keys. Both empty or unset: `None`, meaning the default
    /// chain. Only one set is a mistake we refuse, rather than silently
    /// falling back to whatever the chain finds on the machine.
    pub fn from_pair(
        access_key_id: Option<&str>,
        secret_access_key: Option<&str>,
        id_var: &'static str,
        secret_var: &'static str,
    ) -> Result<Option<Self>, ConfigError> {
        let id = access_key_id.map(str::trim).filter(|s| !s.is_empty());
        let secret = secret_access_key.filter(|s| !s.trim().is_empty());
        match (id, secret) {
            (Some(id), Some(secret)) => Ok(Some(Self {
                access_key_id: id.to_owned(),
                secret_access_key: Secret::new(secret.to_owned()),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::HalfSetCredentials {
                set: id_var,
                unset: secret_var,
            }),
            (None, Some(_)) => Err(ConfigError::HalfSetCredentials {
                set: secret_var,
                unset: id_var,
            }),
        }
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.expose().to_owned(),
            None,
            None,
            "vod-config",
        )
    }
}

/// The production loader: the SDK's real default chain, reading the process
/// environment and the filesystem. Tests pass their own loader (with an
/// injected environment) to the `*_with` constructors instead.
pub fn default_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
}

/// Shared SDK settings for `region`: `keys` when given, else the credential
/// chain of `loader`. Credentials are resolved lazily (on the first request)
/// and cached until shortly before they expire, so task-role keys rotate.
pub async fn sdk_config(
    loader: ConfigLoader,
    region: &str,
    keys: Option<&StaticKeys>,
) -> SdkConfig {
    let mut loader = loader.region(Region::new(region.to_owned()));
    if let Some(keys) = keys {
        loader = loader.credentials_provider(keys.credentials());
    }
    loader.load().await
}

/// Where the credentials come from, for start-up logs (never the secret).
pub fn describe(keys: Option<&StaticKeys>) -> String {
    match keys {
        Some(k) => format!("static key {}", k.access_key_id),
        None => "AWS default credential chain".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "VOD_X_ACCESS_KEY_ID";
    const SECRET: &str = "VOD_X_SECRET_ACCESS_KEY";

    #[test]
    fn both_set_is_static_both_empty_is_the_default_chain() {
        let keys = StaticKeys::from_pair(Some("GK1"), Some("s3cr3t"), ID, SECRET);
        let keys = keys.ok().flatten().map(|k| k.access_key_id);
        assert_eq!(keys.as_deref(), Some("GK1"));
        for (id, secret) in [(None, None), (Some(""), Some("")), (Some(" "), None)] {
            assert!(matches!(
                StaticKeys::from_pair(id, secret, ID, SECRET),
                Ok(None)
            ));
        }
    }

    #[test]
    fn half_set_keys_are_refused_naming_both_variables() {
        for (id, secret, set, unset) in [
            (Some("GK1"), None, ID, SECRET),
            (Some("GK1"), Some(""), ID, SECRET),
            (None, Some("s3cr3t"), SECRET, ID),
            (Some(""), Some("s3cr3t"), SECRET, ID),
        ] {
            let err = StaticKeys::from_pair(id, secret, ID, SECRET).err();
            let Some(err) = err else {
                panic!("{id:?}/{secret:?} must be refused");
            };
            assert_eq!(err.code(), "config.half_set_credentials");
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!("{set} is set but {unset} is not")),
                "{msg}"
            );
            assert!(msg.contains("default credential chain"), "{msg}");
            assert!(!msg.contains("s3cr3t"), "{msg}");
        }
    }

    #[test]
    fn the_description_never_shows_the_secret() {
        let keys = StaticKeys::from_pair(Some("GK1"), Some("s3cr3t"), ID, SECRET)
            .ok()
            .flatten();
        let shown = format!("{} {:?}", describe(keys.as_ref()), keys);
        assert!(shown.contains("GK1"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert_eq!(describe(None), "AWS default credential chain");
    }
}
