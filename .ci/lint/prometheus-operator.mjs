// Validates ServiceMonitor manifests against the prometheus-operator CRD's OpenAPI schema, as
// generated into @kubernetes-models/prometheus-operator. Usage: node servicemonitor.mjs FILE...
import fs from 'node:fs';
import yaml from 'js-yaml';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

let failed = false;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, 'utf8'))) {
    if (!doc) continue;
    try {
      new ServiceMonitor(doc).validate();
      console.log(`${file}: ${doc.kind}/${doc.metadata?.name} is valid`);
    } catch (error) {
      failed = true;
      console.error(`${file}: ${error.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
