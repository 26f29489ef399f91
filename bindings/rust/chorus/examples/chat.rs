//! A terminal group chat on an embedded go-waku node; run it in two terminals:
//!
//! ```text
//! # terminal 1 — Alice; her node serves history to the others
//! cargo run --example chat -- --data /tmp/alice --store
//! # prints her contact code and her node's address (/ip4/127.0.0.1/tcp/.../p2p/...)
//! # terminal 2 — Bob
//! cargo run --example chat -- --data /tmp/bob --peer <Alice's address>
//! ```
//!
//! Then: Bob types `/add <Alice's code>`, Alice `/add <Bob's code>` and
//! `/group friends <Bob's account id>`; both type lines to chat. `/help` lists the commands.
//! A data directory keeps the account: run again with the same `--data` to continue.

use chorus::{Client, Content, Event, GroupId, MessageFilter, Options, Transport, WakuConfig};
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex};

const HELP: &str = "commands:
  /add CODE                  add a contact by contact code
  /group NAME [ACCOUNT_ID]...  create a group with contacts and switch to it
  /groups                    list groups
  /use GROUP_ID              switch to a group (a unique prefix is enough)
  /invite ACCOUNT_ID         add a member to the current group (admins)
  /remove ACCOUNT_ID         remove a member from the current group (admins)
  /history                   the current group's last 20 messages
  /devices                   this account's installations
  /quit                      leave the program
  anything else              a message to the current group";

struct Args {
    data: String,
    listen: Option<String>,
    peers: Vec<String>,
    store: bool,
}

fn args() -> Args {
    let mut a = Args { data: String::new(), listen: None, peers: Vec::new(), store: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--data" => a.data = it.next().unwrap_or_default(),
            "--listen" => a.listen = it.next(),
            "--peer" => a.peers.extend(it.next()),
            "--store" => a.store = true,
            _ => {
                eprintln!("usage: chat --data DIR [--listen HOST:PORT] [--peer MULTIADDR]... [--store]");
                std::process::exit(2);
            }
        }
    }
    if a.data.is_empty() {
        eprintln!("chat: --data DIR is required");
        std::process::exit(2);
    }
    a
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn print_content(sender: &str, c: &Content) {
    match c {
        Content::Text(t) => println!("[{}] {t}", short(sender)),
        Content::Reply { target, text } => println!("[{}] (re {}) {text}", short(sender), short(target.as_str())),
        Content::Reaction { emoji, .. } => println!("[{}] reacted {emoji}", short(sender)),
        _ => {}
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args();
    std::fs::create_dir_all(&a.data)?;
    let store_path = a.store.then(|| format!("{}/waku-store.db", a.data));
    let node = Transport::waku(&WakuConfig {
        listen_addr: a.listen.clone(),
        peers: a.peers.clone(),
        store_peers: a.peers.clone(),
        store: a.store,
        store_path,
        ..Default::default()
    })?;
    let client = Arc::new(Client::open(&a.data, &node, &Options { device_name: Some("chat example".into()), ..Default::default() })?);
    let account = match client.account() {
        Ok(acct) => acct,
        Err(e) if e.kind() == chorus::ErrorKind::NoAccount => client.create_account()?,
        Err(e) => return Err(e.into()),
    };
    println!("account:      {}", account.id);
    println!("contact code: {}", client.contact_code()?);
    for addr in node.listen_addrs()? {
        println!("node address: {addr}");
    }
    println!("type /help for the commands");

    let current: Arc<Mutex<Option<GroupId>>> = Arc::new(Mutex::new(client.groups()?.into_iter().next().map(|g| g.id)));
    let cur = current.clone();
    let _events = client.subscribe(move |ev| match ev {
        Event::MessageReceived(m) => print_content(&m.sender, &m.content),
        Event::GroupJoined { group, name, inviter } => {
            println!("* joined {name} ({}) invited by {}", short(group.as_str()), short(&inviter));
            cur.lock().unwrap().get_or_insert(group);
        }
        Event::MembershipChanged { group, members_added, members_removed, removed, .. } => {
            for m in members_added {
                println!("* {} joined {}", short(&m), short(group.as_str()));
            }
            for m in members_removed {
                println!("* {} left {}", short(&m), short(group.as_str()));
            }
            if removed {
                println!("* you are no longer in {}", short(group.as_str()));
            }
        }
        Event::MessageMissing { group, .. } => println!("* messages missing in {}", short(group.as_str())),
        _ => {}
    })?;

    let stdin = io::stdin();
    print!("> ");
    io::stdout().flush()?;
    for line in stdin.lock().lines() {
        let line = line?;
        let line = line.trim();
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        let group = current.lock().unwrap().clone();
        let result: Result<(), chorus::Error> = (|| {
            match cmd {
                "" => {}
                "/help" => println!("{HELP}"),
                "/quit" => std::process::exit(0),
                "/add" => println!("* contact {}", client.add_contact(rest.trim())?.id),
                "/group" => {
                    let mut words = rest.split_whitespace();
                    let name = words.next().unwrap_or("group");
                    let members: Vec<&str> = words.collect();
                    let g = client.create_group(name, "", &members)?;
                    println!("* created {name} ({g})");
                    *current.lock().unwrap() = Some(g);
                }
                "/groups" => {
                    for g in client.groups()? {
                        println!("{}  {}  {} members  {:?}", g.id, g.name, g.members.len(), g.status);
                    }
                }
                "/use" => match client.groups()?.into_iter().find(|g| g.id.as_str().starts_with(rest.trim()) && !rest.trim().is_empty()) {
                    Some(g) => {
                        println!("* now in {}", g.name);
                        *current.lock().unwrap() = Some(g.id);
                    }
                    None => println!("* no such group"),
                },
                "/devices" => {
                    for i in client.installations()? {
                        println!("{}  {}  {}{}", i.id, i.name, if i.revoked { "revoked" } else { "active" }, if i.current { " (this one)" } else { "" });
                    }
                }
                _ => {
                    let Some(g) = group else {
                        println!("* no group yet: /group NAME ACCOUNT_ID... or wait for an invitation");
                        return Ok(());
                    };
                    match cmd {
                        "/invite" => client.add_members(&g, &[rest.trim()])?,
                        "/remove" => client.remove_members(&g, &[rest.trim()])?,
                        "/history" => {
                            let mut ms = client.messages(&g, &MessageFilter { limit: 20, ..Default::default() })?;
                            ms.reverse();
                            for m in ms {
                                print_content(&m.sender, &m.content);
                            }
                        }
                        _ if cmd.starts_with('/') => println!("* unknown command {cmd}; /help"),
                        _ => {
                            client.send_text(&g, line)?;
                        }
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            println!("* error: {e}");
        }
        print!("> ");
        io::stdout().flush()?;
    }
    Ok(())
}
