// Validates the prometheus-operator resources (monitoring.coreos.com) of Kubernetes manifests
// against their CRDs' OpenAPI schemas, as generated into @kubernetes-models/prometheus-operator;
// other documents are left to kubernetes-validate. A monitoring.coreos.com kind this script has
// no schema for fails rather than passing unchecked.
// Usage: node prometheus-operator.mjs FILE...
import fs from 'node:fs';
import yaml from 'js-yaml';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

const kinds = { PrometheusRule, ServiceMonitor };
let failed = false;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, 'utf8'))) {
    if (!doc?.apiVersion?.startsWith('monitoring.coreos.com/')) continue;
    const what = `${file}: ${doc.kind}/${doc.metadata?.name}`;
    const Kind = Object.hasOwn(kinds, doc.kind) ? kinds[doc.kind] : undefined;
    if (!Kind || doc.apiVersion !== 'monitoring.coreos.com/v1') {
      failed = true;
      console.error(`${what}: no schema for ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    try {
      new Kind(doc).validate();
      console.log(`${what} is valid`);
    } catch (error) {
      failed = true;
      console.error(`${what}: ${error.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
