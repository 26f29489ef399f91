## Minimal Nim declarations of the Chorus C ABI (../c/chorus.h) — enough for the smoke
## test. Link with libchorus.a: see smoke.nims / the Makefile target bindings-test.

type
  ChorusHandle* = uint64

const
  CHORUS_OK* = 0.cint
  CHORUS_ERR_TIMEOUT* = 4.cint

{.push importc, cdecl.}
proc chorus_free*(p: pointer)
proc chorus_abi_version*(): cint
proc chorus_memory_network_new*(config: cstring, outNet: ptr ChorusHandle, err: ptr cstring): cint
proc chorus_memory_network_close*(net: ChorusHandle, err: ptr cstring): cint
proc chorus_memory_join*(net: ChorusHandle, name: cstring, outT: ptr ChorusHandle, err: ptr cstring): cint
proc chorus_transport_close*(t: ChorusHandle, err: ptr cstring): cint
proc chorus_client_open*(dir: cstring, t: ChorusHandle, options: cstring, outC: ptr ChorusHandle, err: ptr cstring): cint
proc chorus_client_close*(c: ChorusHandle, err: ptr cstring): cint
proc chorus_create_account*(c: ChorusHandle, outJson: ptr cstring, err: ptr cstring): cint
proc chorus_contact_code*(c: ChorusHandle, outCode: ptr cstring, err: ptr cstring): cint
proc chorus_add_contact*(c: ChorusHandle, code: cstring, outJson: ptr cstring, err: ptr cstring): cint
proc chorus_create_group*(c: ChorusHandle, name, description, members: cstring, outId: ptr cstring, err: ptr cstring): cint
proc chorus_send_text*(c: ChorusHandle, group, text: cstring, outId: ptr cstring, err: ptr cstring): cint
proc chorus_subscribe*(c: ChorusHandle, outS: ptr ChorusHandle, err: ptr cstring): cint
proc chorus_next_event*(s: ChorusHandle, timeoutMs: int64, outJson: ptr cstring, err: ptr cstring): cint
proc chorus_subscription_close*(s: ChorusHandle, err: ptr cstring): cint
{.pop.}

type ChorusError* = object of CatchableError

proc take*(p: cstring): string =
  ## Copies a string returned by the library and frees it.
  if p == nil: return ""
  result = $p
  chorus_free(p)

template check*(call: untyped) =
  ## Runs a call whose last parameter is the error message (named `err`), raising on failure.
  block:
    var err {.inject.}: cstring = nil
    let rc = call
    if rc != CHORUS_OK:
      raise newException(ChorusError, astToStr(call) & ": " & $rc & " " & take(err))
