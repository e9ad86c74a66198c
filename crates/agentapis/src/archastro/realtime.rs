//! ArchAstro's realtime channels (Phoenix) through a client: [`Client::realtime`].
//!
//! The channel handles and push enums are generated from the spec's `x-channels`
//! (`archastro_client::channels`) and re-exported here; the socket under them is the runtime's
//! [`agentapis_runtime::realtime::Socket`] (reconnects with jitter, rejoins, resends only what
//! is safe to resend, types error replies such as `rate_limited`).

use std::sync::{Arc, OnceLock};

use agentapis_runtime::realtime::{Socket, SocketAuth, SocketConfig};
use progenitor_client::ClientInfo as _;

pub use super::generated::channels::*;
pub use agentapis_runtime::realtime::{RealtimeError, Reconnect, Resend};

use super::Client;

/// The socket a client's [`Client::realtime`] calls share.
#[derive(Clone, Default)]
pub(crate) struct SharedSocket(Arc<OnceLock<Socket>>);

impl std::fmt::Debug for SharedSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedSocket").field(&self.0.get().is_some()).finish()
    }
}

impl Client {
    /// The realtime channels, over one socket this client and its clones share. The socket
    /// opens on the first join with the user's current token (the one [`Client::login`] or the
    /// builder's `token` set) and takes up a refreshed token before it reconnects.
    ///
    /// ```no_run
    /// # async fn demo(client: agentapis::archastro::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use agentapis::archastro::generated::types::{ChatJoinUserKeyedParams, ChatPostMessageParams};
    /// use agentapis::archastro::realtime::ChatPush;
    /// let rt = client.realtime();
    /// let mut chat = rt.join_user_keyed(ChatJoinUserKeyedParams::builder().key("support").try_into()?).await?;
    /// chat.post_message(ChatPostMessageParams::builder().content("hello").try_into()?).await?;
    /// while let Some(push) = chat.next().await {
    ///     if let ChatPush::MessageAdded(added) = push {
    ///         println!("{:?}", added.message);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn realtime(&self) -> Realtime {
        let socket = self.state().socket.0.get_or_init(|| Socket::new(self.socket_config()));
        Realtime::new(socket.clone())
    }

    /// Realtime channels over a socket of their own, configured by `configure` (timeouts,
    /// heartbeat, [`Reconnect`] policy, buffer sizes), starting from the settings
    /// [`Client::realtime`] uses.
    pub fn realtime_with(&self, configure: impl FnOnce(SocketConfig) -> SocketConfig) -> Realtime {
        Realtime::new(Socket::new(configure(self.socket_config())))
    }

    /// The socket's settings: a realtime call (join, message, leave) ends by the client's
    /// deadline ([`crate::ClientBuilder::deadline`]) as a REST call does, and by the socket's
    /// own reply timeout (10 s) when that comes first.
    fn socket_config(&self) -> SocketConfig {
        let config = SocketConfig::new(
            self.generated().baseurl(),
            SocketAuth::Token(Arc::clone(&self.state().tokens)),
        );
        match self.generated().inner().settings().timeouts.overall {
            Some(deadline) if deadline < config.timeout => config.timeout(deadline),
            _ => config,
        }
    }
}
