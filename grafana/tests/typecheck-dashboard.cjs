// Type-checks a Grafana dashboard JSON against @grafana/schema with the TypeScript compiler.
//
//   node grafana/tests/typecheck-dashboard.cjs <tools node dir> <dashboard.json>...
//
// Each dashboard becomes a .ts file that assigns the JSON, as an object literal, to the schema's
// Dashboard type, and each panel's options and custom field config to its panel plugin's Options and
// FieldConfig types (timeseries, stat). Object literals get TypeScript's excess-property check, so a
// misspelt or misplaced key fails, not only a wrong type. Grafana's generated types use string enums
// (ThresholdsMode, BigValueColorMode, ...), which JSON can only spell as their string values: `Json<T>`
// turns each enum into the union of its values. Exit code 0 when every dashboard type-checks, 1 with
// the compiler's messages otherwise.
'use strict';
const fs = require('fs');
const path = require('path');

const [toolsDir, ...dashboards] = process.argv.slice(2);
if (!toolsDir || dashboards.length === 0) {
  console.error('usage: typecheck-dashboard.cjs <tools node dir> <dashboard.json>...');
  process.exit(2);
}
const ts = require(path.join(path.resolve(toolsDir), 'node_modules', 'typescript'));

// Panel plugins whose option types are checked; other panel types get the generic Panel check only.
const PANEL_TYPES = {
  timeseries: 'TimeSeriesPanelCfg_types.gen',
  stat: 'StatPanelCfg_types.gen',
};

const work = fs.mkdtempSync(path.join(path.resolve(toolsDir), 'typecheck-'));
try {
  const files = dashboards.map((file, index) => {
    const dashboard = JSON.parse(fs.readFileSync(file, 'utf8'));
    const lines = [
      `// generated from ${path.basename(file)}`,
      "import type { Dashboard } from '@grafana/schema';",
    ];
    for (const [type, module] of Object.entries(PANEL_TYPES)) {
      lines.push(`import type * as ${type}Cfg from '@grafana/schema/dist/esm/raw/composable/${type}/panelcfg/x/${module}';`);
    }
    lines.push(
      'type Json<T> = T extends string ? `${T}` : T extends Array<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;',
      `export const dashboard: Json<Dashboard> = ${JSON.stringify(dashboard, null, 2)};`,
    );
    const panels = [];
    const collect = (list) => (list || []).forEach((p) => { panels.push(p); collect(p.panels); });
    collect(dashboard.panels);
    panels.forEach((panel, i) => {
      if (!PANEL_TYPES[panel.type]) {
        return;
      }
      const label = `panel ${i} ${JSON.stringify(panel.title || '')}`.replace(/\*\//g, '');
      lines.push(`/* ${label} */ export const options${i}: Json<Partial<${panel.type}Cfg.Options>> = ${JSON.stringify(panel.options || {})};`);
      const custom = panel.fieldConfig && panel.fieldConfig.defaults && panel.fieldConfig.defaults.custom;
      if (custom && panel.type === 'timeseries') {
        lines.push(`/* ${label} */ export const custom${i}: Json<Partial<${panel.type}Cfg.FieldConfig>> = ${JSON.stringify(custom)};`);
      }
    });
    const out = path.join(work, `dashboard${index}.ts`);
    fs.writeFileSync(out, lines.join('\n') + '\n');
    return { source: file, out };
  });

  const program = ts.createProgram(files.map((f) => f.out), {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    const sources = new Map(files.map((f) => [path.resolve(f.out), f.source]));
    for (const d of diagnostics) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
      if (!d.file) {
        console.error(`error TS${d.code}: ${message}`);
        continue;
      }
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const text = d.file.text.split('\n')[line].trim();
      console.error(`${sources.get(path.resolve(d.file.fileName)) || d.file.fileName}: error TS${d.code}: ${message}\n  at: ${text.slice(0, 200)}`);
    }
    process.exit(1);
  }
  console.log(`typecheck-dashboard: ${dashboards.length} dashboard(s) match @grafana/schema ${require(path.join(path.resolve(toolsDir), 'node_modules', '@grafana', 'schema', 'package.json')).version}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
