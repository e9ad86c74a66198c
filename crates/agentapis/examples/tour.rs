//! A short tour of the SDK. By default it starts the local stand-in for all three APIs (no key,
//! no network) and shows, through the facade: an Agentiv run waited to completion, an ArchAstro
//! cursor stream across pages, an Invent sub-organization listing, a 429 absorbed by a retry,
//! a typed error for an unconnected integration, and a realtime chat message and its push.
//!
//! `cargo run -p agentapis --example tour` (add `-- --live` to call the real APIs with the keys
//! in INVENT_API_KEY, AGENTIV_API_KEY and ARCHASTRO_SECRET_KEY; live mode only reads).

use std::time::Duration;

use agentapis::agentiv::{self, AgentSlug, WaitOptions};
use agentapis::archastro::generated::types::{ChatJoinTeamThreadParams, ChatPostMessageParams};
use agentapis::archastro::realtime::ChatPush;
use agentapis::{archastro, invent, Error, PageOptions};
use agentapis_standin::{Api, Fault, Standin};
use futures::TryStreamExt as _;

#[tokio::main]
async fn main() {
    let result = if std::env::args().any(|a| a == "--live") {
        live().await
    } else {
        offline().await
    };
    if let Err(e) = result {
        eprintln!("tour failed: {e}");
        std::process::exit(1);
    }
}

async fn offline() -> Result<(), Box<dyn std::error::Error>> {
    println!("Starting local stand-ins for Agentiv, ArchAstro and Invent…");
    let agentiv_server = Standin::builder(Api::Agentiv)
        .run_step(Duration::from_millis(300))
        .unconnected_agent(AgentSlug::ColdEmailAi.as_str(), "gmail")
        .start()
        .await?;
    let archastro_server = Standin::builder(Api::ArchAstro).collection_size(12).start().await?;
    let invent_server = Standin::builder(Api::Invent).collection_size(7).start().await?;

    let agentiv = agentiv::Client::builder()
        .api_key("ak_demo")
        .base_url(agentiv_server.base_url())
        .build()?;
    let archastro = archastro::Client::builder()
        .publishable_key("pk_demo")
        .token("demo-user-token")
        .base_url(archastro_server.base_url())
        .build()?;
    let invent = invent::Client::builder()
        .api_key("inv_demo")
        .base_url(invent_server.base_url())
        .build()?;

    println!("\n1. Agentiv: start an email-triage run and wait for it");
    let handle = agentiv
        .run_async(AgentSlug::EmailTriage, serde_json::json!({"max_emails": 20}), None)
        .await?;
    println!("   started {} (queued)", handle.id());
    let done = handle
        .wait(WaitOptions::default().first_poll(Duration::from_millis(200)))
        .await?;
    println!(
        "   finished: {:?}, summary: {}",
        done.status,
        done.summary.unwrap_or_default()
    );

    println!("\n2. ArchAstro: the activity feed as a cursor stream, 5 entries per page");
    let mut pages = archastro.pages(|api| api.get_activity_feed(), PageOptions::new().page_size(5));
    while let Some(page) = pages.try_next().await? {
        let ids: Vec<&str> = page.items.iter().map(|e| e.id.as_str()).collect();
        println!(
            "   page at {:<8} → {} entries {:?}; next: {:?}",
            page.position.to_string(),
            ids.len(),
            ids,
            page.next.as_ref().map(ToString::to_string)
        );
    }

    println!("\n3. Invent: assistants of a sub-organization (page + take, totals from headers)");
    let sub = invent.org("org_child")?;
    // The view fills in `org_id`: no operation of `sub` needs it again.
    let mut pages = sub.pages(|api| api.list_assistants(), PageOptions::new().page_size(3));
    while let Some(page) = pages.try_next().await? {
        println!(
            "   {} of {:?} assistants (page {:?})",
            page.items.len(),
            page.total_items,
            page.page_headers.page
        );
    }
    println!("   requests seen: {:?}", invent_server.requests());

    println!("\n4. A 429 with Retry-After: 1, absorbed by a retry");
    archastro_server.fault(
        "GET /api/v1/agents",
        Fault::RateLimited {
            retry_after_secs: 1,
            times: 1,
        },
    );
    let started = std::time::Instant::now();
    let agents = archastro.call(|api| api.list_agents().page_size(3).send()).await?;
    println!(
        "   {} agents after {} attempts in {:.1?}",
        agents.data.len(),
        agents.attempts(),
        started.elapsed()
    );

    println!("\n5. A typed error: running an agent whose integration is not connected");
    match agentiv.run(AgentSlug::ColdEmailAi, serde_json::json!({})).await {
        Err(e @ Error::Api(_)) => println!(
            "   {:?}: connect `{}` first ({}); retryable: {}",
            agentiv::error_code(&e),
            agentiv::integration_slug(&e).unwrap_or("?"),
            e.api_error().map(|a| a.message.as_str()).unwrap_or_default(),
            e.is_retryable()
        ),
        other => return Err(format!("expected INTEGRATION_NOT_CONNECTED, got {other:?}").into()),
    }
    println!("\n6. ArchAstro realtime: join a chat thread, post a message, receive its push");
    let rt = archastro.realtime();
    let thread: ChatJoinTeamThreadParams = ChatJoinTeamThreadParams::builder()
        .team_id("team_demo")
        .thread_id("thr_demo")
        .try_into()?;
    let mut chat = rt.join_team_thread(thread).await?;
    println!("   joined {}", chat.topic());
    let message: ChatPostMessageParams = ChatPostMessageParams::builder()
        .content("Hello from the tour")
        .try_into()?;
    chat.post_message(message).await?;
    match tokio::time::timeout(Duration::from_secs(5), chat.next()).await? {
        Some(ChatPush::MessageAdded(added)) => println!(
            "   push message_added: {:?} (sent with an idempotency key, so a resend after a reconnect cannot duplicate it)",
            added.message.as_ref().and_then(|m| m.content.clone()).unwrap_or_default()
        ),
        other => return Err(format!("expected message_added, got {other:?}").into()),
    }
    chat.leave().await?;
    println!("\nDone: every call above went through one runtime (auth, retries, rate limits, typed errors).");
    Ok(())
}

async fn live() -> Result<(), Box<dyn std::error::Error>> {
    println!("Live mode: read-only calls against the real APIs.");
    let agentiv = agentiv::Client::from_env()?;
    let agents = agentiv.call(|api| api.list_agents().send()).await?;
    println!(
        "Agentiv: {} agents; rate limit {:?}",
        agents.len(),
        agents.rate_limit().remaining
    );
    let invent = invent::Client::from_env()?;
    let first: Vec<_> = invent
        .items(|api| api.list_assistants(), PageOptions::new().max_items(5))
        .try_collect()
        .await?;
    println!("Invent: first {} assistants", first.len());
    let archastro = archastro::Client::from_env()?;
    let page = archastro.call(|api| api.list_agents().page_size(5).send()).await?;
    println!("ArchAstro: {} agents on the first page", page.data.len());
    Ok(())
}
