import { describe, expect, it } from 'vitest';
import { EventStreamParser } from './event-stream.js';

describe('EventStreamParser', () => {
  it('parses named events with their data and id, skipping comments', () => {
    const parser = new EventStreamParser();
    const events = parser.push(
      ': keep-alive\n\nid: 7\nevent: log\ndata: [{"id":"7"}]\n\nevent: state\ndata: {"state":"running"}\n\n',
    );
    expect(events).toEqual([
      { event: 'log', data: '[{"id":"7"}]', id: '7' },
      { event: 'state', data: '{"state":"running"}', id: '7' },
    ]);
  });

  it('gives the same events however the stream is cut into chunks', () => {
    const text = 'event: log\r\ndata: one\r\ndata: two\r\n\r\nevent: end\ndata: {}\n\n';
    const whole = new EventStreamParser().push(text);
    const parser = new EventStreamParser();
    const pieces = [...text].flatMap((character) => parser.push(character));
    expect(pieces).toEqual(whole);
    expect(whole).toEqual([
      { event: 'log', data: 'one\ntwo' },
      { event: 'end', data: '{}' },
    ]);
  });

  it('holds an unfinished event until its blank line arrives', () => {
    const parser = new EventStreamParser();
    expect(parser.push('event: progress\ndata: {"percent":5}')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'progress', data: '{"percent":5}' }]);
  });

  it('calls an event without a name "message" and ignores a blank line without data', () => {
    const parser = new EventStreamParser();
    expect(parser.push('event: nothing\n\ndata:plain\n\n')).toEqual([{ event: 'message', data: 'plain' }]);
  });
});
