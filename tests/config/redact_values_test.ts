// Credentials inside configuration values (not only under secret key names): URL userinfo, secret
// key=value pairs and query parameters, Bearer/Basic credentials, extended private keys and WIF keys.
import { deepEqual, equal, ok } from "node:assert/strict";
import { TEST_NETWORK, WIF } from "@scure/btc-signer";
import { isSecretName, redactConfig, REDACTED, redactText } from "../../src/config/redact.ts";

const R = REDACTED;
const XPRV =
  "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
const XPUB =
  "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8";
const TPRV =
  "tprv8ZgxMBicQKsPd7Uf69XL1XwhmjHopUGep8GuEiJDZmbQz6o58LninorQAfcKZWARbtRtfnLcJ5MQ2AtHcQJCCRUcMRvmDUjyEmNUWwx8UbK";
const ZPRV =
  "zprvAWgYBBk7JR8Gjrh4UJQ2uJdG1r3WNRRfURiABBE3RvMXYSrRJL62XuezvGdPvG6GFBZduosCc1YP5wixPox7zhZLfiUm8aunE96BBa4Kei5";
const key = new Uint8Array(32).fill(7);

/** [input, expected] pairs. */
function check(cases: [string, string][]): void {
  for (const [input, expected] of cases) equal(redactText(input), expected, `redactText(${JSON.stringify(input)})`);
}

Deno.test("redactText() redacts the password in URL userinfo of any scheme, and a lone userinfo token", () => {
  check([
    ["http://user:PASSWORD@host", `http://user:${R}@host`],
    ["https://bob:hunter2@example.com:8443/feed?x=1#top", `https://bob:${R}@example.com:8443/feed?x=1#top`],
    ["postgres://u:pw@h/db", `postgres://u:${R}@h/db`],
    ["postgresql://app:p@ss@db.internal:5432/main", `postgresql://app:${R}@db.internal:5432/main`],
    ["redis://:s3cret@cache:6379/0", `redis://:${R}@cache:6379/0`],
    ["amqp+ssl://guest:guest@mq", `amqp+ssl://guest:${R}@mq`],
    ["zmq.tcp://rpc:x@127.0.0.1:28332", `zmq.tcp://rpc:${R}@127.0.0.1:28332`],
    ["https://ghp_TOKEN123@github.com/org/repo.git", `https://${R}@github.com/org/repo.git`],
    ["ssh://git@github.com/org/repo", `ssh://${R}@github.com/org/repo`],
    ["upstream = http://a:1@h1, http://b:2@h2", `upstream = http://a:${R}@h1, http://b:${R}@h2`],
    ['{"url":"http://u:pw@h","note":"a@b"}', `{"url":"http://u:${R}@h","note":"a@b"}`],
    ["HTTP://Admin:Secret@HOST", `HTTP://Admin:${R}@HOST`],
  ]);
});

Deno.test("redactText() redacts secret key=value pairs, key: value pairs, query parameters and flags", () => {
  check([
    ["host=h password=pw dbname=x", `host=h password=${R} dbname=x`],
    ["host=db user=app password='p w' sslmode=require", `host=db user=app password='${R}' sslmode=require`],
    ["https://api.example.com/v1?api_key=abc123&page=2", `https://api.example.com/v1?api_key=${R}&page=2`],
    ["https://x.example/?page=2&access_token=eyJ.x.y", `https://x.example/?page=2&access_token=${R}`],
    ["wss://h/socket?token=abc;other=1", `wss://h/socket?token=${R};other=1`],
    ["password: hunter2", `password: ${R}`],
    ["rpc_password:hunter2, rpc_user:bob", `rpc_password:${R}, rpc_user:bob`],
    ['{"clientSecret": "abc", "id": 7}', `{"clientSecret": "${R}", "id": 7}`],
    ["{'passphrase': 'correct horse'}", `{'passphrase': '${R}'}`],
    ["-rpcpassword=abc -rpcuser=bob", `-rpcpassword=${R} -rpcuser=bob`],
    ["--rpc-password abc --port 8332", `--rpc-password ${R} --port 8332`],
    ["wallet_seed=abandon, seed_nodes=a", `wallet_seed=${R}, seed_nodes=a`],
    ["Cookie: session=abc", `Cookie: ${R}`],
    ["x.password=1", `x.password=${R}`],
    ['password="unclosed value', `password="${R} value`],
    ['token=abc"] and more', `token=${R}"] and more`],
  ]);
});

Deno.test("redactText() redacts Bearer and Basic credentials, alone or in an Authorization header", () => {
  const basic = btoa("user:pass");
  check([
    ["Authorization: Bearer abc.def-ghi", `Authorization: Bearer ${R}`],
    ["authorization=Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", `authorization=Bearer ${R}`],
    ["Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", `Bearer ${R}`],
    ["bearer 0123456789abcdef", `bearer ${R}`],
    [`Basic ${basic}`, `Basic ${R}`],
    [`Authorization: Basic ${basic}`, `Authorization: Basic ${R}`],
    ['headers = ["Authorization: Token abc123"]', `headers = ["Authorization: Token ${R}"]`],
  ]);
});

Deno.test("redactText() redacts extended private keys and WIF private keys inside strings", () => {
  const wif = WIF().encode(key);
  const testWif = WIF(TEST_NETWORK).encode(key);
  check([
    [XPRV, R],
    [`wpkh(${TPRV}/84'/1'/0'/0/*)`, `wpkh(${R}/84'/1'/0'/0/*)`],
    [`key: ${ZPRV}`, `key: ${R}`],
    ["5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", R],
    ["import KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617 now", `import ${R} now`],
    [wif, R],
    [`sweep=${testWif}`, `sweep=${R}`],
  ]);
});

Deno.test("redactText() keeps ordinary text intact", () => {
  const keep = [
    "",
    "gm",
    "https://example.com:8443/path/to?page=2&sort=asc#frag",
    "http://[::1]:8332/",
    "mailto:alice@example.com",
    "alice@example.com",
    "https://example.com/users/@alice",
    "max_tokens = 5",
    "max_tokens=5&seed_nodes=3",
    "auth.example.com:443",
    "api.example.com:443",
    "author: satoshi",
    "passive=true compass=north",
    "Basic settings apply",
    "Basic authentication is off",
    "Bearer tokens are short",
    "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098",
    XPUB,
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    "/srv/blvm/data/modules",
    "^0.1",
    "12:30 tomorrow",
    "password=",
    "password=\"\" token=''",
    "--port 8332 --rpc-user bob",
  ];
  for (const s of keep) equal(redactText(s), s, s);
});

Deno.test("redactConfig() redacts credentials inside values, in arrays and table keys, and keeps the rest", () => {
  const input = {
    custom: {
      upstream_url: "http://user:PASSWORD@host",
      dsn: "postgres://u:pw@h/db",
      conn: "host=h password=pw",
      mirrors: ["https://a:1@m1/", "https://m2/"],
      nested: [{ hooks: ["https://hooks.example/x?api_key=k&n=1"] }],
      "https://op:pw@host": { weight: 1 },
      max_tokens: 5,
      tip: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    },
  };
  deepEqual(redactConfig(input), {
    custom: {
      upstream_url: `http://user:${R}@host`,
      dsn: `postgres://u:${R}@h/db`,
      conn: `host=h password=${R}`,
      mirrors: [`https://a:${R}@m1/`, "https://m2/"],
      nested: [{ hooks: [`https://hooks.example/x?api_key=${R}&n=1`] }],
      [`https://op:${R}@host`]: { weight: 1 },
      max_tokens: 5,
      tip: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    },
  });
  const json = JSON.stringify(redactConfig(input));
  for (const secret of ["PASSWORD", ":pw@", "password=pw", "api_key=k"]) equal(json.includes(secret), false, secret);
});

Deno.test("isSecretName() and redactText() catch Bitcoin and Lightning secrets the red team found", () => {
  for (
    const k of [
      "rpcauth",
      "priv_key",
      "seed_phrase",
      "admin_macaroon",
      "nsec",
      "hmac_key",
      "signing_key",
      "pin",
      "x_access_key",
      "sk",
    ]
  ) {
    ok(isSecretName(k), k);
  }
  for (const k of ["pinned", "desk", "sketch", "macro", "phrasebook_url", "seed_nodes"]) ok(!isSecretName(k), k);
  const pem =
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----";
  equal(redactText(`key: ${pem}`).includes("MC4CAQ"), false);
  equal(redactText(`note ${pem} end`), "note [redacted] end");
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
  equal(redactText(`header ${jwt}`), "header [redacted]");
  const nsec = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5";
  equal(redactText(`nostr ${nsec}`), "nostr [redacted]");
  // Public material stays.
  const npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
  equal(redactText(`nostr ${npub}`), `nostr ${npub}`);
  equal(redactText("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----").includes("MCowBQ"), true);
});
