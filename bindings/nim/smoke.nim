## Nim smoke test of the C ABI: two clients on the in-memory network become contacts,
## create a group and exchange a message. usage: smoke DATA_DIR
import std/[os, strutils]
import chorus

proc jsonString(json, key: string): string =
  ## The string value of "key" in a flat JSON object (enough for ids).
  let k = "\"" & key & "\":\""
  let i = json.find(k)
  if i < 0: return ""
  let start = i + k.len
  result = json[start ..< json.find('"', start)]

proc open(net: ChorusHandle, dir, name: string): (ChorusHandle, ChorusHandle) =
  var t, c: ChorusHandle
  check chorus_memory_join(net, name.cstring, addr t, addr err)
  check chorus_client_open((dir / name).cstring, t, "{\"burst_spread_ms\":0}", addr c, addr err)
  result = (t, c)

proc waitText(s: ChorusHandle, text: string): bool =
  for i in 0 ..< 100:
    var ev: cstring = nil
    var err: cstring = nil
    let rc = chorus_next_event(s, 100, addr ev, addr err)
    if rc == CHORUS_OK:
      let json = take(ev)
      if "\"message_received\"" in json and text in json: return true
    else:
      discard take(err)
      if rc != CHORUS_ERR_TIMEOUT: return false
  false

proc main() =
  let dir = paramStr(1)
  doAssert chorus_abi_version() == 1
  var net: ChorusHandle
  check chorus_memory_network_new("{\"history\":true}", addr net, addr err)
  let (ta, alice) = open(net, dir, "alice")
  let (tb, bob) = open(net, dir, "bob")
  var js, code, group: cstring
  check chorus_create_account(alice, nil, addr err)
  check chorus_create_account(bob, addr js, addr err)
  let bobId = jsonString(take(js), "id")
  var bobEvents: ChorusHandle
  check chorus_subscribe(bob, addr bobEvents, addr err)
  check chorus_contact_code(bob, addr code, addr err)
  check chorus_add_contact(alice, code, nil, addr err)
  chorus_free(code)
  check chorus_contact_code(alice, addr code, addr err)
  check chorus_add_contact(bob, code, nil, addr err)
  chorus_free(code)
  check chorus_create_group(alice, "from nim", nil, ("[\"" & bobId & "\"]").cstring, addr group, addr err)
  check chorus_send_text(alice, group, "hello from Nim", nil, addr err)
  chorus_free(group)
  doAssert waitText(bobEvents, "hello from Nim"), "bob did not receive the message"
  check chorus_subscription_close(bobEvents, addr err)
  check chorus_client_close(alice, addr err)
  check chorus_client_close(bob, addr err)
  check chorus_transport_close(ta, addr err)
  check chorus_transport_close(tb, addr err)
  check chorus_memory_network_close(net, addr err)
  echo "nim smoke: ok"

main()
