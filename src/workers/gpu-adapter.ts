/** How a WebGPU adapter is named to the user, saying so when it is a software one (timings then are not a GPU's). */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
}

export function adapterName(info: AdapterInfoLike | undefined): string {
  const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ');
  const software = /swiftshader|llvmpipe|software|microsoft basic render/i.test(name);
  return software ? `${name}: a software adapter (the CPU drawing like a GPU), far slower than a GPU; its timings say nothing of one` : name;
}
