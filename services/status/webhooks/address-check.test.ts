import { expect, it } from 'vitest';
import { AddressRefused, isPublicAddress, resolveChecked, urlProblem } from './address-check.js';

const strict = { allowHttp: false, allowPrivate: false };

it('tells public addresses from loopback, private, link-local and reserved ones, IPv4-mapped included', () => {
  for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(isPublicAddress(address), address).toBe(true);
  for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip']) {
    expect(isPublicAddress(address), address).toBe(false);
  }
});

it('names what is wrong with a URL', () => {
  expect(urlProblem('https://hooks.example.com/pulse', strict)).toBeNull();
  expect(urlProblem('http://hooks.example.com/pulse', strict)).toMatch(/https/);
  expect(urlProblem('http://hooks.example.com/pulse', { ...strict, allowHttp: true })).toBeNull();
  expect(urlProblem('ftp://hooks.example.com/', { ...strict, allowHttp: true })).toMatch(/http or https/);
  expect(urlProblem('https://user:pw@hooks.example.com/', strict)).toMatch(/credentials/);
  expect(urlProblem('/relative', strict)).toMatch(/absolute/);
});

it('refuses a host that resolves to a non-public address, after resolution, unless allowed', async () => {
  await expect(resolveChecked(new URL('https://localhost/'), strict)).rejects.toBeInstanceOf(AddressRefused);
  await expect(resolveChecked(new URL('https://[::1]/'), strict)).rejects.toThrow(/address ::1 is not public/);
  await expect(resolveChecked(new URL('https://169.254.169.254/latest/meta-data'), strict)).rejects.toThrow(/169\.254\.169\.254/);
  expect(await resolveChecked(new URL('http://127.0.0.1:9/'), { allowHttp: true, allowPrivate: true })).toEqual({ address: '127.0.0.1', family: 4 });
  expect(await resolveChecked(new URL('https://8.8.8.8/'), strict)).toEqual({ address: '8.8.8.8', family: 4 });
});
