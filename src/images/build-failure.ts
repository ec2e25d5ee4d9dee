/**
 * What to do when a user's Dockerfile installs packages and the build cannot reach their
 * registry: a machine without one (this kind of CI has Debian's mirror only), a proxy with its
 * own certificate, a registry that is down. npm's, yarn's and pnpm's words for it, as they say
 * them in a failed `RUN`.
 */
const UNREACHABLE = [
  /request to https?:\/\/\S+ failed, reason: [^\n]*/,
  /getaddrinfo (?:ENOTFOUND|EAI_AGAIN) \S+/,
  /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/,
  /ERR_PNPM_META_FETCH_FAIL[^\n]*/,
  /There appears to be trouble with your network connection[^\n]*/,
];
/** A command that installs packages from a registry, in any of the three package managers. */
export const INSTALLS_PACKAGES = /\b(?:npm (?:ci|install|i)|yarn(?: install)?|pnpm (?:install|i))\b/;
const INSTALL = new RegExp(`The command '\\/bin\\/sh -c ([^']*${INSTALLS_PACKAGES.source}[^']*)' returned`);

export function registryHint(output: string, service: string): string | undefined {
  const install = INSTALL.exec(output)?.[1];
  const said = UNREACHABLE.map((p) => p.exec(output)?.[0]).find(Boolean);
  if (!install || !said) return undefined;
  return [
    `The Dockerfile's \`RUN ${install}\` could not reach the package registry from inside the build (${said.trim()}).`,
    "Let the build reach it (a registry mirror, the proxy's certificate in the image), or build without it:",
    `set "hostModules": "." for ${service} in realstack.json (the package folder, as package-lock.json names it),`,
    `and in the Dockerfile copy what realstack stages from this machine's install instead of installing:`,
    `COPY build/${service}/node_modules ./node_modules (docs/adopting.md, "Images without a registry").`,
  ].join('\n');
}
