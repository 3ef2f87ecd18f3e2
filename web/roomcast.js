export class Roomcast {}
