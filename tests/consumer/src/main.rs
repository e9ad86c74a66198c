//! One call per API against the stand-in, through the packaged crates: what a user's first
//! program does after `cargo add agentapis`.

use agentapis::{agentiv, archastro, invent, PageOptions};
use agentapis_standin::{Api, Standin};
use futures::TryStreamExt as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let agentiv_server = Standin::builder(Api::Agentiv).start().await?;
    let agentiv = agentiv::Client::builder()
        .api_key("ak_consumer")
        .base_url(agentiv_server.base_url())
        .build()?;
    let agents = agentiv.call(|api| api.list_agents().send()).await?;
    println!("agentiv: {} agents", agents.len());

    let archastro_server = Standin::builder(Api::ArchAstro).collection_size(3).start().await?;
    let archastro = archastro::Client::builder()
        .publishable_key("pk_consumer")
        .token("consumer-user-token")
        .base_url(archastro_server.base_url())
        .build()?;
    let agents_page = archastro.call(|api| api.list_agents().page_size(2).send()).await?;
    println!("archastro: {} agents on the first page", agents_page.data.len());

    let invent_server = Standin::builder(Api::Invent).collection_size(2).start().await?;
    let invent = invent::Client::builder()
        .api_key("inv_consumer")
        .base_url(invent_server.base_url())
        .build()?;
    // Two pages of one assistant each: paging works from the packaged crates too.
    let assistants: Vec<_> = invent
        .items(|api| api.list_assistants(), PageOptions::new().page_size(1))
        .try_collect()
        .await?;
    println!("invent: {} assistants", assistants.len());
    if agents.is_empty() || agents_page.data.len() != 2 || assistants.len() != 2 {
        return Err("the stand-in's answers did not come through".into());
    }
    println!("consumer: ok");
    Ok(())
}
