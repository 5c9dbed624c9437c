// An SMSC for the OpenOMS tests, on the npm package `smpp` (MIT), independent of OpenOMS's
// own PDU code: every PDU is decoded by the npm library, and concatenated segments are
// reassembled here from their UDH (IEI 0x00 / 0x08) or sar_* TLVs.
//
//   node server.js config.json
//
// config.json: {
//   "log": "path of the JSON-lines record",    // every PDU received, and each whole message
//   "system_id": "openoms", "password": "secret",
//   "refuse_payload": null | "submit_sm_resp" | "generic_nack",
//   "refuse_status": 193,                       // 0xC1 ESME_ROPTPARNOTALLWD by default
//   "throttle": 0,                              // answer the first N submit_sm ESME_RTHROTTLED
//   "id_format": "hex" | "decimal",             // submit_sm_resp message_id
//   "receipt_id_format": "decimal" | "hex",     // the receipt's id: (default: the other one)
//   "receipt_tlv": false,                       // also receipted_message_id / message_state
//   "receipts": true, "receipt_delay_ms": 50, "receipt_stat": "DELIVRD"
// }
// Prints {"event": "listening", "port": N} on stdout once it listens (port 0: a free one).
'use strict';

const fs = require('fs');
const smpp = require('smpp');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const idFormat = config.id_format || 'decimal';
const receiptIdFormat = config.receipt_id_format || (idFormat === 'hex' ? 'decimal' : 'hex');
const refuseStatus = config.refuse_status || 0xc1;
let throttle = config.throttle || 0;
let nextId = 0x1a2b3c;
const groups = new Map(); // reassembly: key -> {total, parts: Map(seq -> {text, id})}
const pendingReceipts = []; // receipts whose session was gone: sent at the next bind
let boundSession = null;

function record(entry) {
  entry.t = Date.now() / 1000;
  fs.appendFileSync(config.log, JSON.stringify(entry) + '\n');
}

function hex(buffer) {
  return Buffer.from(buffer).toString('hex');
}

function text(field) {
  if (field === undefined || field === null) return null;
  if (typeof field === 'string') return field;
  if (Buffer.isBuffer(field)) return hex(field);
  return field.message === undefined ? null : String(field.message);
}

function formatId(n, format) {
  return format === 'hex' ? n.toString(16).toUpperCase() : n.toString(10);
}

// Concatenation of a submit_sm: {kind, ref, total, seq} or null for a whole message.
function concatenation(pdu) {
  const udh = pdu.short_message && pdu.short_message.udh;
  for (const ie of udh || []) {
    if (ie[0] === 0x00 && ie[1] === 3) return {kind: 'udh8', ref: ie[2], total: ie[3], seq: ie[4]};
    if (ie[0] === 0x08 && ie[1] === 4) {
      return {kind: 'udh16', ref: (ie[2] << 8) | ie[3], total: ie[4], seq: ie[5]};
    }
  }
  if (pdu.sar_msg_ref_num !== undefined) {
    return {
      kind: 'sar',
      ref: pdu.sar_msg_ref_num,
      total: pdu.sar_total_segments,
      seq: pdu.sar_segment_seqnum,
    };
  }
  return null;
}

function assemble(pdu, id) {
  const body = pdu.message_payload !== undefined ? text(pdu.message_payload) : text(pdu.short_message);
  const base = {
    event: 'message',
    destination: pdu.destination_addr,
    source: pdu.source_addr,
    data_coding: pdu.data_coding,
  };
  const part = concatenation(pdu);
  if (part === null) {
    const kind = pdu.message_payload !== undefined ? 'payload' : 'single';
    record(Object.assign(base, {kind, text: body, parts: [body], ids: [id]}));
    return;
  }
  const key = [part.kind, pdu.destination_addr, part.ref, part.total].join('/');
  const group = groups.get(key) || {total: part.total, parts: new Map()};
  groups.set(key, group);
  group.parts.set(part.seq, {text: body, id});
  if (group.parts.size < group.total) return;
  groups.delete(key);
  const ordered = [...group.parts.keys()].sort((a, b) => a - b).map((seq) => group.parts.get(seq));
  record(
    Object.assign(base, {
      kind: part.kind,
      ref: part.ref,
      text: ordered.map((p) => p.text).join(''),
      parts: ordered.map((p) => p.text),
      ids: ordered.map((p) => p.id),
    }),
  );
}

function stamp(date) {
  const p = (n) => String(n).padStart(2, '0');
  return (
    p(date.getUTCFullYear() % 100) + p(date.getUTCMonth() + 1) + p(date.getUTCDate()) +
    p(date.getUTCHours()) + p(date.getUTCMinutes())
  );
}

function sendReceipt(receipt) {
  const session = boundSession;
  if (session === null) {
    pendingReceipts.push(receipt);
    return;
  }
  const now = new Date();
  const stat = config.receipt_stat || 'DELIVRD';
  const options = {
    source_addr: receipt.destination,
    destination_addr: receipt.source,
    esm_class: 0x04, // SMSC delivery receipt
    data_coding: 0,
    short_message:
      `id:${formatId(receipt.n, receiptIdFormat)} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
      `submit date:${stamp(receipt.at)} done date:${stamp(now)} stat:${stat} err:000 text:`,
  };
  if (config.receipt_tlv) {
    options.receipted_message_id = formatId(receipt.n, receiptIdFormat);
    options.message_state = stat === 'DELIVRD' ? 2 : 5;
  }
  const sent = session.deliver_sm(options, (resp) => {
    record({event: 'receipt_acked', id: formatId(receipt.n, idFormat), command_status: resp.command_status});
  });
  if (!sent) pendingReceipts.push(receipt);
  else record({event: 'receipt_sent', id: formatId(receipt.n, idFormat), receipt_id: formatId(receipt.n, receiptIdFormat), stat});
}

function onSubmit(session, pdu) {
  if (session !== boundSession) {
    session.send(pdu.response({command_status: smpp.ESME_RINVBNDSTS}));
    return;
  }
  if (config.refuse_payload && pdu.message_payload !== undefined) {
    record({event: 'refused', how: config.refuse_payload, command_status: refuseStatus});
    if (config.refuse_payload === 'generic_nack') {
      session.send(
        new smpp.PDU('generic_nack', {sequence_number: pdu.sequence_number, command_status: refuseStatus}),
      );
    } else {
      session.send(pdu.response({command_status: refuseStatus}));
    }
    return;
  }
  if (throttle > 0) {
    throttle -= 1;
    record({event: 'throttled'});
    session.send(pdu.response({command_status: smpp.ESME_RTHROTTLED}));
    return;
  }
  const n = nextId++;
  const id = formatId(n, idFormat);
  session.send(pdu.response({message_id: id}));
  assemble(pdu, id);
  if (config.receipts !== false && (pdu.registered_delivery & 0x03) !== 0) {
    const receipt = {n, destination: pdu.destination_addr, source: pdu.source_addr, at: new Date()};
    setTimeout(() => sendReceipt(receipt), config.receipt_delay_ms === undefined ? 50 : config.receipt_delay_ms);
  }
}

function pduRecord(pdu) {
  const out = {event: 'pdu', command: pdu.command, command_status: pdu.command_status};
  for (const [key, value] of Object.entries(pdu)) {
    if (['command', 'command_status', 'command_length', 'command_id', 'sequence_number'].includes(key)) continue;
    if (key === 'short_message' || key === 'message_payload') {
      out[key] = text(value);
      if (value && value.udh) out[key + '_udh'] = value.udh.map(hex);
    } else if (Buffer.isBuffer(value)) {
      out[key] = hex(value);
    } else if (value instanceof Date) {
      out[key] = value.toISOString();
    } else if (typeof value !== 'function') {
      out[key] = value;
    }
  }
  return out;
}

const server = smpp.createServer((session) => {
  session.on('error', () => {});
  session.on('close', () => {
    if (boundSession === session) boundSession = null;
  });
  session.on('pdu', (pdu) => record(pduRecord(pdu)));
  session.on('bind_transceiver', (pdu) => {
    if (pdu.system_id !== config.system_id || pdu.password !== config.password) {
      const status = pdu.system_id !== config.system_id ? smpp.ESME_RINVSYSID : smpp.ESME_RINVPASWD;
      session.send(pdu.response({command_status: status}));
      return;
    }
    session.send(pdu.response({system_id: 'NODESMSC'}), () => {
      boundSession = session;
      for (const receipt of pendingReceipts.splice(0)) sendReceipt(receipt);
    });
  });
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => {
    session.send(pdu.response());
    session.close();
  });
});

server.listen(config.port || 0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({event: 'listening', port: server.address().port}) + '\n');
});
