// Arguments the end-to-end tests call each tool with, keyed by tool name.
//
// Every tool that tools/list returns is called. A tool is called with its
// entry here if it has one, else with the arguments its own Go tests declare
// for the demo cluster (tools/<tool>_test.go, declareArgs; make snapshots
// publishes them in schemas/tool-args.json), else with {} when its input
// schema requires nothing; a tool that requires arguments and has none fails
// the suite by name. A new tool needs no line here.
//
// An entry here is only for arguments computed at run time from another
// tool's answer, or that deliberately differ from the published ones; one
// that repeats them fails the suite (client.test.mjs).
//
// An entry is either a plain arguments object, or an async function
// ({ call }) => arguments for tools that need a value another tool returns
// (call(name, args) returns that tool's structuredContent, and fails the test
// if the tool reports an error).
//
// Values refer to the demo scenario (the product description's cluster).
// Write tools only plan here; confirm_plan executes one harmless plan.
import { readFileSync } from 'node:fs';

// The arguments the tools' own Go tests declare, as make snapshots publishes them.
export const declaredArgs = JSON.parse(readFileSync(new URL('../schemas/tool-args.json', import.meta.url), 'utf8'));

// The end-to-end tests' own entries.
export const ownArgs = {
  migrate_guest: { vmid: 201, target: 'pve-node02' }, // pihole-primary; pve-node02 has room
  update_guest_resources: { vmid: 105, cores: 4 }, // monitoring-stack
  create_vm: { node: 'pve-node02', name: 'e2e-vm', cores: 2, memory_gib: 2, disk_gib: 20 },
  create_container: {
    node: 'pve-node01',
    ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
    hostname: 'e2e-ct',
  },
  delete_guest: { vmid: 203 }, // dev-sandbox, stopped
  guest_exec: { vmid: 101, command: ['systemctl', 'is-active', 'nginx'] },
  snapshot_guest: { vmid: 203, action: 'create', name: 'e2e-snap' }, // dev-sandbox, stopped, on ZFS
  backup_guest: { vmids: [105], storage: 'nfs-backup' }, // monitoring-stack; nfs-backup has room
  // A backup of app-server-prod from the demo's nightly jobs.
  restore_backup: async ({ call }) => {
    const { backups } = await call('list_backups', { vmid: 101 });
    return { volid: backups[0].volid, unique: true };
  },
  delete_backup: async ({ call }) => {
    const { backups } = await call('list_backups', { vmid: 101 });
    return { volid: backups[backups.length - 1].volid };
  },
  node_logs: { node: 'pve-node03', hours: 300, grep: 'rpool|S64HNE0R803002' }, // the degraded pool's read errors
  firewall_status: { vmid: 101, port: 22 }, // is SSH open to app-server-prod?
  storage_content: { content: 'iso', available_templates: true },
  // The most recent task the cluster knows about.
  get_task: async ({ call }) => {
    const { tasks } = await call('list_tasks', { limit: 1 });
    return { upid: tasks[0].upid };
  },
  // Reboots unbound-dns (a running container), which leaves the demo as it was.
  confirm_plan: async ({ call }) => {
    const plan = await call('guest_power', { vmid: 202, action: 'reboot' });
    return { plan_id: plan.plan_id, nonce: plan.nonce };
  },
};

export const toolArgs = { ...declaredArgs, ...ownArgs };

// Arguments that must be refused with a tool error naming the argument.
// Every tool is also called with an unknown key and with a wrongly-typed
// value for one of its declared properties; these add out-of-range VMIDs and
// a path-injection attempt in a node name.
export const badArgs = [
  { tool: 'get_guest', args: { vmid: 'abc' }, names: 'vmid' },
  { tool: 'get_guest', args: { vmid: -1 }, names: 'vmid' },
  { tool: 'get_guest', args: { vmid: 1e12 }, names: 'vmid' },
  { tool: 'list_guests', args: { node: '../../access' }, names: 'node' },
];
