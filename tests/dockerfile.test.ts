import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { readDockerfile, withBases } from '../src/stack/dockerfile.js';
import { tempProject } from './helpers/project.js';

// One reader of a Dockerfile's instructions for what realstack infers (src/stack/infer.ts) and
// for the copy it builds from with a stand-in in the FROM (src/images/build.ts): a FROM over
// several lines, comments, and a heredoc whose body has a line that starts with FROM must give
// both the same stages, or the copy would put a base in the wrong place.
const dockerfile = `# syntax=docker/dockerfile:1
ARG NODE=node:20-alpine
FROM --platform=linux/amd64 \\
    # a comment inside the instruction, skipped as the builder skips it
    \${NODE} AS build
WORKDIR /src
RUN cat > /src/NOTES <<EOF
FROM here on, a line of text, not an instruction
EOF
RUN cat <<<"here-string, not a heredoc" > /tmp/x
COPY . .

FROM node:20-alpine
WORKDIR app
COPY --from=build /src/dist ./dist
CMD ["node", "dist/main.js"]
`;

t.test(
  'the stages of a Dockerfile, however their FROM is written, and the copy with other bases',
  async (t) => {
    const dir = tempProject(t, {});
    const file = path.join(dir, 'Dockerfile');
    writeFileSync(file, dockerfile);

    const parsed = readDockerfile(file);
    if (!parsed) throw new Error('readDockerfile found no file');
    t.same(parsed.from, ['node:20-alpine', 'node:20-alpine'], 'two stages; the build arg default applied');
    t.same(
      parsed.stages.map(({ written, flags, as, lines }) => ({ written, flags, as, lines })),
      [
        { written: `\${NODE}`, flags: ['--platform=linux/amd64'], as: 'build', lines: [2, 4] },
        { written: 'node:20-alpine', flags: [], as: undefined, lines: [12, 12] },
      ],
      'the heredoc body is not a stage; each FROM knows its lines',
    );
    t.equal(
      parsed.workdir,
      '/app',
      "the final stage's WORKDIR, relative to its own stage's: a stage FROM an image starts over",
    );
    t.same(parsed.cmd, ['node', 'dist/main.js']);
    t.same(
      readDockerfile(file, { NODE: 'node:22' })?.from[0],
      'node:22',
      'a build arg wins over the default',
    );

    const copy = withBases(file, parsed, new Map([[1, 'realstack/node:20']]));
    const lines = copy.split('\n');
    t.equal(lines[12], '# realstack: node:20-alpine cannot be pulled here');
    t.equal(lines[13], 'FROM realstack/node:20', "the second stage's base replaced");
    t.equal(
      lines.filter((l) => l.startsWith('FROM ')).length,
      3,
      'no other line that starts with FROM was touched',
    );
    t.equal(
      lines[7],
      'FROM here on, a line of text, not an instruction',
      'the heredoc body is kept as written',
    );

    const both = withBases(
      file,
      parsed,
      new Map([
        [0, 'realstack/node:20'],
        [1, 'realstack/node:20'],
      ]),
    ).split('\n');
    t.same(
      both.slice(2, 4),
      [
        `# realstack: \${NODE} cannot be pulled here`,
        'FROM --platform=linux/amd64 realstack/node:20 AS build',
      ],
      'a FROM over three lines becomes one, with its flags and stage name',
    );
    t.equal(
      both[11],
      '# realstack: node:20-alpine cannot be pulled here',
      'the later stage moved up by the line saved',
    );
    t.same(readDockerfile(file)?.stages.length, 2, "the user's file is unchanged");
  },
);

t.test('a Dockerfile that is not there reads as none', async (t) => {
  t.equal(readDockerfile(path.join(tempProject(t, {}), 'Dockerfile')), undefined);
});

t.test(
  "compose's build.target: the stage built, what it inherits, and a target that names no stage",
  async (t) => {
    const dir = tempProject(t, {
      Dockerfile: `FROM node:20-slim AS base
WORKDIR /app
CMD ["node", "base.js"]

FROM base AS worker
CMD ["node", "apps/worker/src/worker.js"]

FROM base AS API
WORKDIR api

FROM postgres:16 AS db
`,
    });
    const file = path.join(dir, 'Dockerfile');
    const worker = readDockerfile(file, {}, 'worker');
    t.same(worker?.cmd, ['node', 'apps/worker/src/worker.js'], "the target's own CMD, not the last one");
    t.equal(worker?.workdir, '/app', 'WORKDIR inherited from the stage it is built FROM');
    t.equal(worker?.base, 'node:20-slim', 'its base is the image its chain of stages starts from');
    const api = readDockerfile(file, {}, 'api');
    t.same(api?.cmd, ['node', 'base.js'], 'a stage name matches in any case, as the builder matches it');
    t.equal(api?.workdir, '/app/api');
    t.equal(readDockerfile(file)?.base, 'postgres:16', 'without a target, the last stage');
    t.same(worker?.needed, [0, 1], 'a target needs itself and the stages it is built FROM');
    t.same(readDockerfile(file)?.needed, [3], 'a stage FROM another image needs none of the others');
    t.throws(
      () => readDockerfile(file, {}, 'web'),
      /build\.target "web" names no stage of .*Dockerfile \(its stages: base, worker, API, db\): name one of them in the compose file\./,
    );
  },
);

t.test(
  'the stages a target needs: what it is built FROM, and what it copies from, by name or number',
  async (t) => {
    const dir = tempProject(t, {
      Dockerfile: `FROM node:20 AS deps
RUN npm ci
FROM deps AS build
RUN npm run build
FROM deps AS dev
CMD ["npx", "tsx", "src/index.ts"]
FROM node:20 AS assets
RUN npm run assets
FROM node:20-slim AS prod
COPY --from=build /app/dist ./dist
COPY --from=3 /app/public ./public
COPY --from=nginx:1 /etc/nginx/mime.types /etc/
CMD ["node", "dist/index.js"]
`,
    });
    const file = path.join(dir, 'Dockerfile');
    t.same(
      readDockerfile(file, {}, 'prod')?.needed,
      [0, 1, 3, 4],
      'build (and its deps) and stage 3; not dev',
    );
    t.same(readDockerfile(file, {}, 'dev')?.needed, [0, 2], 'the dev stage needs no build');
  },
);

// The image's environment is what the process engine gives a service the container would have
// (Dockerfile reference, "ENV" and "Environment replacement"), and where a preload the image sets
// in NODE_OPTIONS comes from under the coverage overlay.
t.test(
  'the built stage ENV: both forms, quoting, replacement, stages and what cannot be known',
  async (t) => {
    const dir = tempProject(t, {
      Dockerfile: `ARG NODE_ENV=production
ARG REGION=eu
FROM node:20-slim AS base
ARG NODE_ENV
ENV NODE_ENV=$NODE_ENV \\
    GREETING="hello from the image" SINGLE='$NOT_A_VARIABLE' ESCAPED=\\$HOME \\
    PATH=/app/node_modules/.bin:$PATH
ENV LEGACY a value with spaces
ENV APP_HOME=/app UNSET_REGION=\${REGION:-none}
ENV LOG_DIR=\${APP_HOME}/logs
ENV NODE_OPTIONS="--require ./preload.cjs --max-old-space-size=256"
EXPOSE 3000/tcp 9229
RUN npm ci
FROM base AS prod
ENV GREETING=overridden BEFORE=$GREETING
FROM node:20-slim AS other
ENV ONLY_OTHER=1
`,
    });
    const file = path.join(dir, 'Dockerfile');
    const prod = readDockerfile(file, {}, 'prod');
    t.same(
      prod?.env,
      {
        NODE_ENV: 'production',
        GREETING: 'overridden',
        SINGLE: '$NOT_A_VARIABLE',
        ESCAPED: '$HOME',
        PATH: undefined,
        LEGACY: 'a value with spaces',
        APP_HOME: '/app',
        LOG_DIR: '/app/logs',
        UNSET_REGION: 'none',
        NODE_OPTIONS: '--require ./preload.cjs --max-old-space-size=256',
        BEFORE: 'hello from the image',
      },
      "inherited from the stage it is built FROM; a global ARG only where the stage says it again; an assignment sees the line's earlier values; the base image's PATH is unknown",
    );
    t.same(prod?.expose, [3000, 9229], 'EXPOSE, inherited too');
    t.equal(
      readDockerfile(file, { NODE_ENV: 'test' }, 'prod')?.env.NODE_ENV,
      'test',
      "compose's build.args win over the ARG's default",
    );
    t.same(readDockerfile(file)?.env, { ONLY_OTHER: '1' }, 'a stage FROM an image starts with none');
    t.equal(
      readDockerfile(file, {}, 'base')?.runs[0]?.nodeEnv,
      'production',
      'a RUN sees the ENV, as npm ci decides what to install from it',
    );
  },
);

t.test('what COPY --from brings of the build context, at the paths it lands on', async (t) => {
  const dir = tempProject(t, {});
  const file = path.join(dir, 'Dockerfile');
  writeFileSync(
    file,
    `FROM node:20 AS build
WORKDIR /repo
COPY . .
COPY config/app.json /etc/app/app.json
COPY package.json ./

FROM node:20
WORKDIR /srv
COPY --from=build /repo/apps/api/src ./src
COPY --from=build /etc/app /etc/app
COPY --from=build /repo/package.json /repo/apps ./
COPY --from=nginx:1 /etc/nginx /etc/nginx
`,
  );
  t.same(readDockerfile(file)?.copies, [
    { sources: ['apps/api/src'], dest: '/srv/src', intoDir: true },
    { sources: ['config/app.json'], dest: '/etc/app/app.json', intoDir: false },
    { sources: ['package.json'], dest: '/srv', intoDir: true },
    { sources: ['apps'], dest: '/srv', intoDir: true },
  ]);
});
